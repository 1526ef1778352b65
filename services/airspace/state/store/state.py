"""StateStore: every aggregate's store over one database, which it opens and closes."""

from __future__ import annotations

from abc import ABC, abstractmethod

from airspace.state.store.agents import AgentStore
from airspace.state.store.approvals import ApprovalStore
from airspace.state.store.audit_outbox import AuditOutboxStore
from airspace.state.store.leases import LeaseStore
from airspace.state.store.memory import MemoryStore
from airspace.state.store.registry_changes import RegistryChangeFeed
from airspace.state.store.runs import RunStore
from airspace.state.store.workflows import WorkflowStore


class StateStore(ABC):
    """The aggregates share the implementation's connections and transactions, so a
    check that reads another aggregate (an approval's run, an append's lease) sees the
    same committed state as the write it guards."""

    runs: RunStore
    approvals: ApprovalStore
    workflows: WorkflowStore
    agents: AgentStore
    memory: MemoryStore
    leases: LeaseStore
    audit_outbox: AuditOutboxStore
    registry_changes: RegistryChangeFeed

    @abstractmethod
    async def close(self) -> None:
        """Finishes the writes already accepted, then releases the database."""
