"""Trace queries: validation, lookups and search paging over a SpanStore (no gRPC here)."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import re

from airspace.mesh import errors
from airspace.tracing import attachment
from airspace.tracing.store import SpanCursor, SpanFilter, SpanRecord, SpanStore

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
STATUS_CODES = ("UNSET", "OK", "ERROR")
_TRACE_ID = re.compile(r"[0-9a-fA-F]{32}")


class TraceQueries:
    def __init__(self, store: SpanStore):
        self._store = store

    async def trace(self, trace_id: str) -> list[SpanRecord]:
        if not _TRACE_ID.fullmatch(trace_id):
            raise errors.InvalidArgument(
                f"trace_id must be 32 hex characters, got {trace_id!r}", field="trace_id"
            )
        spans = await self._store.trace(trace_id.lower())
        if not spans:
            raise errors.NotFound(f"trace {trace_id.lower()} has no stored spans")
        return spans

    async def run_trace(self, run_id: str) -> tuple[str, list[SpanRecord]]:
        """The run's path: the spans of its trace that its mesh services and the agents it
        invoked sent (attachment.py), including those that do not name the run."""
        if not run_id:
            raise errors.InvalidArgument("run_id is required", field="run_id")
        trace_id = await self._store.run_trace_id(run_id)
        if trace_id is None:
            raise errors.NotFound(f"no stored span names run {run_id!r}")
        return trace_id, attachment.attached(await self._store.trace(trace_id))

    async def search(
        self, where: SpanFilter, page_size: int, page_token: str
    ) -> tuple[list[SpanRecord], str]:
        """A page of matching spans, newest first, and the token of the next page."""
        if where.status_code and where.status_code not in STATUS_CODES:
            raise errors.InvalidArgument(
                f"status_code must be one of {', '.join(STATUS_CODES)}", field="status_code"
            )
        if page_size < 0:
            raise errors.InvalidArgument("page_size must not be negative", field="page_size")
        limit = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        spans, cursor = await self._store.search(where, _decode(page_token, where), limit)
        return spans, _encode(cursor, where) if cursor else ""


def _fingerprint(where: SpanFilter) -> str:
    """Ties a page token to the filters it was issued for."""
    filters = json.dumps(dataclasses.astuple(where))
    return hashlib.sha256(filters.encode()).hexdigest()[:16]


def _encode(cursor: SpanCursor, where: SpanFilter) -> str:
    key = [cursor.start_unix_nano, cursor.sequence, _fingerprint(where)]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def _decode(token: str, where: SpanFilter) -> SpanCursor | None:
    if not token:
        return None
    try:
        start, sequence, fingerprint = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise errors.InvalidArgument("page_token is not valid", field="page_token") from None
    if fingerprint != _fingerprint(where) or not (
        isinstance(start, int) and isinstance(sequence, int)
    ):
        raise errors.InvalidArgument(
            "page_token does not belong to a search with these filters", field="page_token"
        )
    return SpanCursor(start, sequence)
