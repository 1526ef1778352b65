"""Find PII in a string or in every string (values and member names) of a JSON document."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from policy.engine import pointer
from policy.engine.pii.detectors import detect
from policy.engine.pii.normalize import normalize

# Shorter than the shortest entity we detect ("a@b.co", "1.2.3.4"): nothing to find.
_MIN_LENGTH = 6


@dataclasses.dataclass(frozen=True)
class Span:
    path: str  # JSON pointer to the string ("" for a bare string)
    start: int  # code points in the original string
    end: int
    entity: str
    value: str  # the normalized text of the span, for building replacements


def scan_text(text: str, path: str = "") -> list[Span]:
    if len(text) < _MIN_LENGTH:
        return []
    normalized = normalize(text)
    spans = []
    for match in detect(normalized.text):
        start, end = normalized.original_span(match.start, match.end)
        spans.append(Span(path, start, end, match.entity, match.text))
    return spans


def scan_json(document: Any) -> list[Span]:
    return list(_walk(document, ()))


def _walk(node: Any, tokens: tuple) -> Iterator[Span]:
    if isinstance(node, str):
        if len(node) >= _MIN_LENGTH:
            yield from scan_text(node, pointer.join(tokens))
    elif isinstance(node, dict):
        for key, value in node.items():
            member = (*tokens, key)
            if len(key) >= _MIN_LENGTH:
                yield from scan_text(key, pointer.key_of(member))
            yield from _walk(value, member)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*tokens, index))
