"""Runs with their append-only event log and step journal."""

from __future__ import annotations

import asyncio
import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager

from airspace.policy.v1 import policy_pb2
from airspace.state.store.leases import RunClaim
from airspace.state.store.page import Page
from airspace.state.v1 import state_pb2
from airspace.v1 import run_pb2


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
class CreatedRun:
    run: run_pb2.Run
    # False when the (tenant, request_id) was seen before: `run` is the first run.
    created: bool
    # The fencing token of the lease the creation's claim was granted; 0 for none.
    fencing_token: int = 0


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


class RunStore(ABC):
    # Whether subscribe() wakes for the writes of every process sharing the database;
    # when not, watchers re-check now and then to see other processes' writes.
    signals_every_writer: bool = False

    @abstractmethod
    async def create_run(
        self,
        run: run_pb2.Run,
        request_digest: str = "",
        claim: RunClaim | None = None,
        audit_records: Sequence[policy_pb2.AuditRecord] = (),
    ) -> CreatedRun:
        """Stores a new run; the same (tenant, request_id) returns the existing one, not
        created, or refuses it (REQUEST_ID_REUSED) when its digest is another one. A
        claim leases the run in the same transaction (rules/leases.creation_grant). A
        created run's audit records go to the audit outbox, under the claiming router."""

    @abstractmethod
    async def get_run(self, tenant: str, run_id: str) -> run_pb2.Run: ...

    @abstractmethod
    async def list_runs(
        self, tenant: str, *, workflow: str, state: int, page_size: int, page_token: str
    ) -> Page[run_pb2.Run]:
        """Newest first; workflow and state filter when set."""

    @abstractmethod
    async def update_run(
        self,
        tenant: str,
        patch: run_pb2.Run,
        fields: Sequence[str],
        expected_states: Collection[int],
    ) -> run_pb2.Run:
        """Replaces the named fields (records.RUN_UPDATE_FIELDS) of run patch.run_id."""

    @abstractmethod
    async def append_events(
        self,
        tenant: str,
        run_id: str,
        events: Sequence[run_pb2.RunEvent],
        journal_entries: Sequence[state_pb2.JournalEntry],
        *,
        expected_last_sequence: int | None,
        lease_owner: str,
        lease_token: int = 0,
        change: RunChange | None = None,
        audit_records: Sequence[policy_pb2.AuditRecord] = (),
    ) -> Appended:
        """Appends atomically with the next gap-free sequences, and applies `change` to
        the run in the same transaction. Checks, in order: the lease, under the grant
        `lease_token` names when it is set (FAILED_PRECONDITION LEASE_NOT_HELD), expected_last_sequence (ABORTED SEQUENCE_MISMATCH), that the run
        has not ended (FAILED_PRECONDITION RUN_ENDED), new step keys (ALREADY_EXISTS).
        A change that ends the run frees its lease (rules/leases.freed_by). The audit
        records go to the audit outbox under `lease_owner`, in the same transaction."""

    @abstractmethod
    async def list_events(
        self, tenant: str, run_id: str, *, after_sequence: int, limit: int
    ) -> EventPage:
        """FAILED_PRECONDITION RUN_PRUNED when pruned events lie after the cursor."""

    @abstractmethod
    def subscribe(self, run_id: str) -> AbstractContextManager[asyncio.Event]:
        """An event set whenever the run's events or state may have changed."""

    @abstractmethod
    async def get_journal(self, tenant: str, run_id: str) -> list[state_pb2.JournalEntry]: ...

    @abstractmethod
    async def prune_runs(
        self, tenant: str, finished_before_micros: int, *, validate_only: bool, limit: int
    ) -> Pruned:
        """Deletes the events, journal, input, output and run memory of up to `limit` runs
        that ended before the time, oldest end first; validate_only counts every match."""
