"""Find PII in a string or in every string (values and member names) of a JSON document.

Beyond what the detectors see in each normalized string, two evasions are caught:
- base64: a run of base64 that decodes to text holding PII is one span over the
  whole run (scope ENCODED), however deep the encodings nest (up to a limit);
- splitting: an entity cut across sibling strings (consecutive items of one array,
  or members of one object in any order, e.g. {"user": "ann.lee", "domain":
  "@example.com"}) is found in their concatenation and reported as one span per
  piece (scope FRAGMENT). Only seams that could continue an email or a number are
  tried, which keeps the cost of a scan close to that of the strings alone.

Each string's own spans are remembered by its text (memo.py): the same text checked at
several checkpoints, streamed to readers and kept in audit details is scanned once. So are
the spans of sibling strings joined, by the joined text: the same members (a version next
to a version, an id next to a name) come back with every check of the same kind.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from airspace.policy.engine import pointer
from airspace.policy.engine.model import MaskScope
from airspace.policy.engine.pii import encoded
from airspace.policy.engine.pii.detectors import ENTITIES, detect
from airspace.policy.engine.pii.memo import TextMemo
from airspace.policy.engine.pii.normalize import normalize

# Shorter than the shortest entity we detect ("a@b.co", "1.2.3.4"): nothing to find.
_MIN_LENGTH = 6
# base64 inside base64 inside ...: deeper than this is not decoded.
_MAX_ENCODING_DEPTH = 3
# Members of an object are also joined pairwise, in both orders, when they are short (a
# fragment, not a text) and few (the pairs grow with the square).
_MAX_FRAGMENT = 64
_MAX_PAIRED = 16
_NUMBER_EDGE = frozenset("0123456789 .-+/()")
_ASCII_DIGIT = re.compile("[0-9]").search
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


# Every string's own spans, by its text; bounded by memo.MAX_ENTRIES and memo.MAX_CHARS.
_SCANNED: TextMemo[tuple[Span, ...]] = TextMemo()
# The spans of sibling strings joined (entities split across them), by the joined text.
_JOINED: TextMemo[tuple[Span, ...]] = TextMemo()


def scan_text(text: str, path: str = "") -> list[Span]:
    return _located(_spans_of(text), path)


def _spans_of(text: str) -> tuple[Span, ...]:
    """The spans of one whole string (at path ""), scanned the first time it is seen."""
    if len(text) < _MIN_LENGTH:
        return ()
    spans = _SCANNED.get(text)
    if spans is None:
        spans = tuple(_scan_text(text, "", 0))
        _SCANNED.put(text, spans)
    return spans


def _located(spans: tuple[Span, ...], path: str) -> list[Span]:
    return [dataclasses.replace(span, path=path) for span in spans] if path else list(spans)


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
    found: list[Span] = []
    _walk(document, (), found)
    return found


def _walk(node: Any, tokens: tuple, found: list[Span]) -> None:
    """Adds the spans under `node` to `found`: each string's own, then the fragments its
    siblings hold only joined. A pointer is spelled only for a string that holds something.
    Strings and scalars among the children are handled in the loop, without a call each."""
    if isinstance(node, str):
        spans = _spans_of(node)
        if spans:
            found.extend(_located(spans, pointer.join(tokens)))
        return
    ordered = isinstance(node, list)
    if ordered:
        children: list = list(enumerate(node))
    elif isinstance(node, dict):
        children = list(node.items())
    else:
        return
    inside: list[Span] = []
    strings = 0
    for key, value in children:
        if not ordered:
            in_key = _spans_of(key)  # a member name is text too
            if in_key:
                inside.extend(_located(in_key, pointer.key_of((*tokens, key))))
        if isinstance(value, str):
            strings += 1
            spans = _spans_of(value)
            if spans:
                inside.extend(_located(spans, pointer.join((*tokens, key))))
        elif isinstance(value, (list, dict)):
            _walk(value, (*tokens, key), inside)
    if strings > 1:  # a seam to look across
        _split(children, tokens, inside, ordered)
    found.extend(inside)


def _split(children: list, tokens: tuple, found: list[Span], ordered: bool) -> None:
    """Adds to `found` the fragments of entities cut across sibling strings: runs of
    consecutive strings, and for an object (whose member order a protobuf Struct does not
    keep) every ordered pair of its short strings that could hold an entity across the seam."""
    runs, run = [], []
    for key, value in children:
        if isinstance(value, str):
            run.append((key, value))
        else:
            runs.append(run)
            run = []
    runs.append(run)
    for strings in runs:
        seams = zip(strings, strings[1:], strict=False)
        if any(left and right and _may_join(left, right) for (_, left), (_, right) in seams):
            found.extend(_fragments(strings, tokens, found))
    if ordered:
        return
    short = [
        (key, value)
        for key, value in children
        if isinstance(value, str) and 0 < len(value) <= _MAX_FRAGMENT
    ]
    if len(short) <= _MAX_PAIRED:
        for pair in _pairs(short):
            found.extend(_fragments(pair, tokens, found))


def _pairs(short: list[tuple]) -> list[list[tuple]]:
    """The ordered pairs of the (key, text) strings `short` that pass _may_join, in the
    order of itertools.permutations, each string's side of the seam judged once."""
    at = ["@" in text for _, text in short]
    # The edge first: it is one lookup, the digits a pass over the text.
    ends = [text[-1] in _NUMBER_EDGE and _has_digit(text) for _, text in short]
    starts = [text[0] in _NUMBER_EDGE and _has_digit(text) for _, text in short]
    if not any(at) and not (any(ends) and any(starts)):
        return []
    indexes = range(len(short))
    return [
        [short[i], short[j]]
        for i in indexes
        for j in indexes
        if i != j and (at[i] or at[j] or (ends[i] and starts[j]))
    ]


def _may_join(left: str, right: str) -> bool:
    """Whether `left + right` can hold an entity across the seam: an email ('@' on one
    side), or a number continued (digits on both sides, the seam between digits or
    separators). Anything else is not worth a scan."""
    if "@" in left or "@" in right:
        return True
    return (
        left[-1] in _NUMBER_EDGE
        and right[0] in _NUMBER_EDGE
        and _has_digit(left)
        and _has_digit(right)
    )


def _has_digit(text: str) -> bool:
    """Whether a character of `text` is a digit as str.isdigit says (superscripts too)."""
    if text.isascii():  # where the digits are 0-9 alone, and a regex finds one in C
        return _ASCII_DIGIT(text) is not None
    return any(map(str.isdigit, text))


def _fragments(run: list[tuple], tokens: tuple, found: list[Span]) -> list[Span]:
    """The pieces of every entity that the (key, text) strings of `run` hold only joined."""
    if len(run) < 2 or sum(len(text) for _, text in run) < _MIN_LENGTH:
        return []
    starts, offset = [], 0
    for _, text in run:
        starts.append(offset)
        offset += len(text)
    joined = "".join(text for _, text in run)
    fragments: list[Span] = []
    for span in _joined_spans(joined):
        pieces = [
            (key, max(span.start, begin) - begin, min(span.end, begin + len(text)) - begin)
            for (key, text), begin in zip(run, starts, strict=True)
            if span.start < begin + len(text) and begin < span.end
        ]
        if len(pieces) < 2:
            continue  # inside one string: already found there
        located = [(pointer.join((*tokens, key)), start, end) for key, start, end in pieces]
        if any(_overlaps(path, start, end, [*found, *fragments]) for path, start, end in located):
            continue
        fragments.extend(
            Span(path, start, end, span.entity, span.value, MaskScope.FRAGMENT, piece=number)
            for number, (path, start, end) in enumerate(located)
        )
    return fragments


def _joined_spans(joined: str) -> tuple[Span, ...]:
    """The spans of sibling strings joined (without decoding base64 in them), scanned the
    first time the joined text is seen: the same siblings come back with every check."""
    spans = _JOINED.get(joined)
    if spans is None:
        spans = tuple(_scan_text(joined, "", _MAX_ENCODING_DEPTH))
        _JOINED.put(joined, spans)
    return spans


def _overlaps(path: str, start: int, end: int, found: list[Span]) -> bool:
    return any(s.path == path and start < s.end and s.start < end for s in found)
