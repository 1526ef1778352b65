"""Text hidden in base64 (standard or URL-safe alphabet): found, decoded, handed back for scanning.

Only decodings that are readable text count, so hashes, ids and ordinary long words
(which decode to binary noise) are left alone.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

# Long enough to hold the shortest entity we detect once decoded ("jo@acme.com" is 16).
_CANDIDATE = re.compile(r"(?<![A-Za-z0-9+/=_\-])[A-Za-z0-9+/_\-]{12,}={0,2}(?![A-Za-z0-9+/=_\-])")
_URL_SAFE = str.maketrans("-_", "+/")


def candidates(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, decoded text) of every base64 run in `text` that decodes to text."""
    for found in _CANDIDATE.finditer(text):
        decoded = decode(found.group())
        if decoded is not None:
            yield found.start(), found.end(), decoded


def decode(token: str) -> str | None:
    """The readable text `token` encodes, or None when it is not base64 of readable text."""
    if "-" in token or "_" in token:
        if "+" in token or "/" in token:
            return None  # two alphabets mixed: not base64
        token = token.translate(_URL_SAFE)
    body = token.rstrip("=")
    if len(body) % 4 == 1:
        return None
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not all(char.isprintable() or char in "\t\n\r" for char in text):
        return None
    return text
