"""The storage interface of the state service, so stores can be swapped (SQLite now,
PostgreSQL for multi-node deployments).

Records are the protobuf messages themselves; a store stamps times, versions and
sequences, enforces tenancy (another tenant's record is NOT_FOUND) and raises
airspace.mesh.errors for every refusal.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from typing import Generic, Protocol, TypeVar

from google.protobuf import struct_pb2, timestamp_pb2

from airspace.state.v1 import state_pb2
from airspace.v1 import agent_registry_pb2, approval_pb2, run_pb2, workflow_pb2

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    # Empty on the last page.
    next_page_token: str = ""


@dataclasses.dataclass(frozen=True)
class EventPage:
    events: list[run_pb2.RunEvent]
    # The run is in a terminal state.
    run_ended: bool
    # The run's last sequence when the page was read.
    last_sequence: int


@dataclasses.dataclass(frozen=True)
class RunChange:
    """New values for some of a run's fields (records.RUN_UPDATE_FIELDS)."""

    patch: run_pb2.Run
    fields: Sequence[str]
    # When not empty, the change only applies to a run in one of these states.
    expected_states: Collection[int] = ()


@dataclasses.dataclass(frozen=True)
class Appended:
    last_sequence: int
    # The run after the change given with the events, when one was.
    run: run_pb2.Run | None = None


@dataclasses.dataclass(frozen=True)
class Pruned:
    runs: int
    events: int
    journal_entries: int
    # More runs match than one call pruned.
    more: bool = False


@dataclasses.dataclass(frozen=True)
class Decision:
    outcome: run_pb2.ApprovalOutcome
    decided_by: str
    comment: str = ""
    edited_payload: struct_pb2.Struct | None = None


@dataclasses.dataclass(frozen=True)
class Lease:
    # Whether the asking owner holds the lease now.
    acquired: bool
    owner: str
    expire_time: timestamp_pb2.Timestamp


class StateStore(Protocol):
    # Runs, their event logs and step journals.
    async def create_run(self, run: run_pb2.Run) -> tuple[run_pb2.Run, bool]:
        """Stores a new run; the same (tenant, request_id) returns the existing one and False."""

    async def get_run(self, tenant: str, run_id: str) -> run_pb2.Run: ...

    async def list_runs(
        self, tenant: str, *, workflow: str, state: int, page_size: int, page_token: str
    ) -> Page[run_pb2.Run]:
        """Newest first; workflow and state filter when set."""

    async def update_run(
        self,
        tenant: str,
        patch: run_pb2.Run,
        fields: Sequence[str],
        expected_states: Collection[int],
    ) -> run_pb2.Run:
        """Replaces the named fields (records.RUN_UPDATE_FIELDS) of run patch.run_id."""

    async def append_events(
        self,
        tenant: str,
        run_id: str,
        events: Sequence[run_pb2.RunEvent],
        journal_entries: Sequence[state_pb2.JournalEntry],
        *,
        expected_last_sequence: int | None,
        lease_owner: str,
        change: RunChange | None = None,
    ) -> Appended:
        """Appends atomically with the next gap-free sequences, and applies `change` to
        the run in the same transaction. Checks, in order: the lease (FAILED_PRECONDITION
        LEASE_NOT_HELD), expected_last_sequence (ABORTED SEQUENCE_MISMATCH), that the run
        has not ended (FAILED_PRECONDITION RUN_ENDED), new step keys (ALREADY_EXISTS)."""

    async def list_events(
        self, tenant: str, run_id: str, *, after_sequence: int, limit: int
    ) -> EventPage:
        """FAILED_PRECONDITION RUN_PRUNED when pruned events lie after the cursor."""

    def subscribe(self, run_id: str) -> AbstractContextManager[asyncio.Event]:
        """An event set whenever the run's events or state may have changed."""

    async def get_journal(self, tenant: str, run_id: str) -> list[state_pb2.JournalEntry]: ...

    async def prune_runs(
        self, tenant: str, finished_before_micros: int, *, validate_only: bool, limit: int
    ) -> Pruned:
        """Deletes the events, journal, input, output and run memory of up to `limit` runs
        that ended before the time, oldest end first; validate_only counts every match."""

    # Workflows: immutable versions.
    async def put_workflow(
        self, workflow: workflow_pb2.Workflow
    ) -> tuple[workflow_pb2.Workflow, bool]:
        """Stores the next version, or returns the latest (and False) when its etag matches."""

    async def get_workflow(self, tenant: str, name: str, version: int) -> workflow_pb2.Workflow:
        """Version 0 means the latest not deleted."""

    async def list_workflows(
        self, tenant: str, *, page_size: int, page_token: str
    ) -> Page[workflow_pb2.Workflow]: ...

    async def delete_workflow(self, tenant: str, name: str) -> None: ...

    # Agent registrations.
    async def put_agent(self, agent: agent_registry_pb2.Agent) -> agent_registry_pb2.Agent: ...

    async def get_agent(self, tenant: str, name: str) -> agent_registry_pb2.Agent: ...

    async def list_agents(
        self, tenant: str, *, page_size: int, page_token: str
    ) -> Page[agent_registry_pb2.Agent]: ...

    async def delete_agent(self, tenant: str, name: str) -> None: ...

    # Approvals.
    async def create_approval(self, approval: approval_pb2.Approval) -> approval_pb2.Approval:
        """Idempotent by (tenant, approval_id): a known id returns the stored approval."""

    async def get_approval(self, tenant: str, approval_id: str) -> approval_pb2.Approval: ...

    async def list_approvals(
        self,
        tenant: str,
        *,
        state: int,
        roles: Collection[str],
        run_id: str,
        page_size: int,
        page_token: str,
    ) -> Page[approval_pb2.Approval]:
        """Oldest first; state, roles (required_role among them) and run_id filter when set."""

    async def list_due_approvals(
        self, due_before_us: int, limit: int
    ) -> list[approval_pb2.Approval]:
        """Pending approvals of every tenant whose deadline is before the time, oldest first."""

    async def decide_approval(
        self, tenant: str, approval_id: str, decision: Decision
    ) -> approval_pb2.Approval: ...

    # Shared memory.
    async def get_memory(self, tenant: str, namespace: str, key: str) -> state_pb2.MemoryEntry: ...

    async def put_memory(
        self,
        tenant: str,
        namespace: str,
        key: str,
        value: struct_pb2.Value,
        *,
        expected_version: int | None,
        ttl_seconds: float | None,
        request_id: str = "",
    ) -> state_pb2.MemoryEntry:
        """A request_id equal to the entry's last write returns that entry (a retry)."""

    async def delete_memory(
        self, tenant: str, namespace: str, key: str, *, expected_version: int | None
    ) -> None: ...

    async def list_memory(
        self, tenant: str, namespace: str, *, key_prefix: str, page_size: int, page_token: str
    ) -> Page[state_pb2.MemoryEntry]: ...

    # Run leases (global: run ids are unique across tenants).
    async def acquire_lease(self, run_id: str, owner: str, ttl_seconds: float) -> Lease: ...

    async def release_lease(self, run_id: str, owner: str) -> None: ...

    async def list_claimable_runs(
        self, limit: int, min_age_seconds: float = 0.0
    ) -> list[run_pb2.Run]:
        """QUEUED or RUNNING runs whose lease expired, or without a lease and created at
        least min_age_seconds ago; oldest first."""

    async def close(self) -> None: ...
