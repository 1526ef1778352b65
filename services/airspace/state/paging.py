"""Opaque page tokens: the sort key of the last item returned, as base64 JSON."""

from __future__ import annotations

import base64
import binascii
import json

from airspace.mesh import errors


def encode(key: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def decode(token: str, shape: tuple[type, ...]) -> list | None:
    """The key in a token (None for the first page); a forged or foreign token is
    INVALID_ARGUMENT rather than a silently wrong page."""
    if not token:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    valid = (
        isinstance(key, list)
        and len(key) == len(shape)
        and all(isinstance(part, kind) for part, kind in zip(key, shape, strict=True))
    )
    if not valid:
        raise errors.InvalidArgument(
            "page_token is not a token of this listing", field="page_token"
        )
    return key
