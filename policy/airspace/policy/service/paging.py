"""Opaque page tokens for the audit listing: the last sequence returned."""

from __future__ import annotations

import base64
import binascii
import json

from airspace.mesh import errors

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def page_size(requested: int) -> int:
    if requested < 0:
        raise errors.InvalidArgument("page_size must not be negative", field="page_size")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode(after_sequence: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after_sequence}).encode()).decode()


def decode(token: str) -> int:
    """The sequence to continue after (0 for the first page)."""
    if not token:
        return 0
    try:
        after = json.loads(base64.urlsafe_b64decode(token.encode()))["after"]
    except (binascii.Error, ValueError, UnicodeDecodeError, KeyError, TypeError):
        after = None
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise errors.InvalidArgument(
            "page_token is not a token of this listing", field="page_token"
        )
    return after
