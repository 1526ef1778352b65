"""PostgresStateStore: every aggregate's PostgreSQL store over one database."""

from __future__ import annotations

import time
from collections.abc import Callable

from airspace.state.postgres.agents import PostgresAgentStore
from airspace.state.postgres.approvals import PostgresApprovalStore
from airspace.state.postgres.audit_outbox import PostgresAuditOutboxStore
from airspace.state.postgres.database import PostgresDatabase
from airspace.state.postgres.leases import PostgresLeaseStore
from airspace.state.postgres.memory import PostgresMemoryStore
from airspace.state.postgres.registry_changes import PostgresRegistryChanges
from airspace.state.postgres.runs import PostgresRunStore
from airspace.state.postgres.workflows import PostgresWorkflowStore
from airspace.state.rules.payloads import DEFAULT_INLINE_BYTES
from airspace.state.store.state import StateStore


class PostgresStateStore(StateStore):
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 8,
        payload_inline_bytes: int = DEFAULT_INLINE_BYTES,
        clock: Callable[[], float] = time.time,
    ):
        """Applies the pending migrations now; connects on the first operation."""
        self._database = PostgresDatabase(url, pool_size=pool_size, clock=clock)
        self.runs = PostgresRunStore(self._database, payload_inline_bytes=payload_inline_bytes)
        self.approvals = PostgresApprovalStore(self._database)
        self.workflows = PostgresWorkflowStore(self._database)
        self.agents = PostgresAgentStore(self._database)
        self.memory = PostgresMemoryStore(self._database)
        self.leases = PostgresLeaseStore(self._database)
        self.audit_outbox = PostgresAuditOutboxStore(self._database)
        self.registry_changes = PostgresRegistryChanges(self._database)

    async def close(self) -> None:
        await self._database.close()
