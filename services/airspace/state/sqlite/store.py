"""SqliteStateStore: every aggregate's SQLite store over one database file."""

from __future__ import annotations

import pathlib
import time
from collections.abc import Callable

from airspace.state.rules.payloads import DEFAULT_INLINE_BYTES
from airspace.state.sqlite.agents import SqliteAgentStore
from airspace.state.sqlite.approvals import SqliteApprovalStore
from airspace.state.sqlite.audit_outbox import SqliteAuditOutboxStore
from airspace.state.sqlite.database import SqliteDatabase
from airspace.state.sqlite.leases import SqliteLeaseStore
from airspace.state.sqlite.memory import SqliteMemoryStore
from airspace.state.sqlite.runs import SqliteRunStore
from airspace.state.sqlite.workflows import SqliteWorkflowStore
from airspace.state.store.state import StateStore


class SqliteStateStore(StateStore):
    def __init__(
        self,
        path: str | pathlib.Path,
        *,
        read_connections: int = 4,
        payload_inline_bytes: int = DEFAULT_INLINE_BYTES,
        clock: Callable[[], float] = time.time,
    ):
        # One writer for all aggregates: their writes share group commits and see
        # each other's effects in order.
        self._database = SqliteDatabase(path, read_connections=read_connections, clock=clock)
        self.runs = SqliteRunStore(self._database, payload_inline_bytes=payload_inline_bytes)
        self.approvals = SqliteApprovalStore(self._database)
        self.workflows = SqliteWorkflowStore(self._database)
        self.agents = SqliteAgentStore(self._database)
        self.memory = SqliteMemoryStore(self._database)
        self.leases = SqliteLeaseStore(self._database)
        self.audit_outbox = SqliteAuditOutboxStore(self._database)
        self.registry_changes = self._database.registry_changes

    async def close(self) -> None:
        await self._database.close()
