"""Find PII in a string or in every string (values and member names) of a JSON document.

Beyond what the detectors see in each normalized string, two evasions are caught:
- base64: a run of base64 that decodes to text holding PII is one span over the
  whole run (scope ENCODED), however deep the encodings nest (up to a limit);
- splitting: an entity cut across sibling strings (consecutive values of one object
  or items of one array, e.g. {"user": "ann.lee", "domain": "@example.com"}) is found
  in their concatenation and reported as one span per piece (scope FRAGMENT).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from policy.engine import pointer
from policy.engine.model import MaskScope
from policy.engine.pii import encoded
from policy.engine.pii.detectors import ENTITIES, detect
from policy.engine.pii.normalize import normalize

# Shorter than the shortest entity we detect ("a@b.co", "1.2.3.4"): nothing to find.
_MIN_LENGTH = 6
# base64 inside base64 inside ...: deeper than this is not decoded.
_MAX_ENCODING_DEPTH = 3
_PRIORITY = {entity: index for index, entity in enumerate(ENTITIES)}


@dataclasses.dataclass(frozen=True)
class Span:
    path: str  # JSON pointer to the string ("" for a bare string)
    start: int  # code points in the original string
    end: int
    entity: str
    # The normalized text of the entity, for building replacements: decoded for an
    # ENCODED span, the whole entity (not just this piece) for a FRAGMENT.
    value: str = dataclasses.field(repr=False)
    scope: MaskScope = MaskScope.ENTITY
    also: tuple[str, ...] = ()  # further entities an ENCODED span holds
    piece: int = 0  # which piece of a FRAGMENT this is, from 0

    @property
    def entities(self) -> tuple[str, ...]:
        return (self.entity, *self.also)


def scan_text(text: str, path: str = "") -> list[Span]:
    return _scan_text(text, path, 0)


def holds(text: str, entity: str) -> bool:
    """Whether base64 `text` (as an ENCODED span) still decodes to text holding `entity`."""
    decoded = encoded.decode(normalize(text).text)
    return decoded is not None and any(
        entity in span.entities for span in _scan_text(decoded, "", 1)
    )


def _scan_text(text: str, path: str, depth: int) -> list[Span]:
    if len(text) < _MIN_LENGTH:
        return []
    normalized = normalize(text)
    spans, taken = [], []
    for match in detect(normalized.text):
        start, end = normalized.original_span(match.start, match.end)
        spans.append(Span(path, start, end, match.entity, match.text))
        taken.append((match.start, match.end))
    if depth >= _MAX_ENCODING_DEPTH:
        return spans
    for start, end, decoded in encoded.candidates(normalized.text):
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            continue
        inner = _scan_text(decoded, "", depth + 1)
        if not inner:
            continue
        found = sorted({e for span in inner for e in span.entities}, key=_PRIORITY.__getitem__)
        first = next(span for span in inner if span.entity == found[0])
        original_start, original_end = normalized.original_span(start, end)
        spans.append(
            Span(
                path,
                original_start,
                original_end,
                found[0],
                first.value,
                MaskScope.ENCODED,
                tuple(found[1:]),
            )
        )
    return sorted(spans, key=lambda span: span.start)


def scan_json(document: Any) -> list[Span]:
    return list(_walk(document, ()))


def _walk(node: Any, tokens: tuple) -> Iterator[Span]:
    if isinstance(node, str):
        if len(node) >= _MIN_LENGTH:
            yield from scan_text(node, pointer.join(tokens))
    elif isinstance(node, dict):
        found = []
        for key, value in node.items():
            member = (*tokens, key)
            if len(key) >= _MIN_LENGTH:
                found.extend(scan_text(key, pointer.key_of(member)))
            found.extend(_walk(value, member))
        yield from found
        yield from _split(((key, value) for key, value in node.items()), tokens, found)
    elif isinstance(node, list):
        found = []
        for index, value in enumerate(node):
            found.extend(_walk(value, (*tokens, index)))
        yield from found
        yield from _split(enumerate(node), tokens, found)


def _split(children, tokens: tuple, found: list[Span]) -> Iterator[Span]:
    """Fragments of entities that span consecutive sibling strings."""
    run: list[tuple[str, str]] = []  # (path, text) of consecutive string children
    for key, value in children:
        if isinstance(value, str):
            run.append((pointer.join((*tokens, key)), value))
            continue
        yield from _fragments(run, found)
        run = []
    yield from _fragments(run, found)


def _fragments(run: list[tuple[str, str]], found: list[Span]) -> Iterator[Span]:
    if len(run) < 2:
        return
    starts, offset = [], 0
    for _, text in run:
        starts.append(offset)
        offset += len(text)
    joined = "".join(text for _, text in run)
    for span in _scan_text(joined, "", _MAX_ENCODING_DEPTH):
        pieces = [
            (path, max(span.start, begin) - begin, min(span.end, begin + len(text)) - begin)
            for (path, text), begin in zip(run, starts, strict=True)
            if span.start < begin + len(text) and begin < span.end
        ]
        if len(pieces) < 2:
            continue  # inside one string: already found there
        if any(_overlaps(path, start, end, found) for path, start, end in pieces):
            continue
        for number, (path, start, end) in enumerate(pieces):
            yield Span(path, start, end, span.entity, span.value, MaskScope.FRAGMENT, piece=number)


def _overlaps(path: str, start: int, end: int, found: list[Span]) -> bool:
    return any(s.path == path and start < s.end and s.start < end for s in found)
