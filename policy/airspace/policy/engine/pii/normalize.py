"""Undo the usual evasion tricks before detection, remembering where each character came from.

NFKC folds full-width digits and letters ("０６", "＠") and other compatibility forms
to ASCII; invisible format characters (zero-width space/joiner, BOM, soft hyphen,
bidi marks) are dropped. `origin[i]` is the index in the original string of
normalized character i, so a span found in the normalized text maps back to
the original characters, hidden ones included.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Sequence


@dataclasses.dataclass(frozen=True)
class Normalized:
    text: str
    origin: Sequence[int]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original code point span [start, end) that normalized [start, end) came from."""
        return self.origin[start], self.origin[end - 1] + 1


def normalize(original: str) -> Normalized:
    if original.isascii():  # nothing to fold, nothing invisible
        return Normalized(original, range(len(original)))
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(original):
        if unicodedata.category(char) == "Cf":
            continue
        # Per character, so every output character keeps a single origin.
        folded = unicodedata.normalize("NFKC", char)
        chars.append(folded)
        origin.extend([index] * len(folded))
    return Normalized("".join(chars), origin)
