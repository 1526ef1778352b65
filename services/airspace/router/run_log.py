"""Writes a run's events (and journal entries) to the state service, exactly once.

Every append names the sequence it expects to follow (expected_last_sequence). A retry
of an append whose commit succeeded but whose reply was lost (the state service
restarted, say) is then refused with ABORTED SEQUENCE_MISMATCH instead of appending
the events twice; the log reads back what follows its cursor and, finding its own
events there, takes the append as done. Events another writer appended meanwhile (a
canceler) just move the cursor on. An append that ends the run frees the run's lease in
its transaction, so the retry of one whose reply was lost is refused LEASE_NOT_HELD
instead, and is looked for the same way.

Events that need not be durable on their own (decisions, verdicts, progress, a step's
start) are `record`ed: they wait in memory and go with the next append. A crash loses
only buffered events of unfinished work, which the resumed run records again. A buffered
event that is flushed too early to go now goes on a timer: it reaches watchers within
its delay even when nothing follows it (an agent that works in silence until its step
times out).

A step's completion (its StepCompleted and journal entry) is `complete_later`ed the same
way: it waits until the run's next agent invocation (`write_completed`, called before
every Invoke), the next append (the run's end, its pause for a person), or its delay,
whichever comes first. So a run of n steps costs n appends, its end carrying the last
step. A step counts as completed only once its entry is durable: watchers see only
acknowledged appends, and a router that dies (or stops the run) before the write leaves
the step unjournaled, so the resumed run invokes it again with the same idempotency key,
exactly as if it had died during the step. Since the next agent call waits for the
write, no agent ever acts on the output of a step that could still run again.

A change of the run that nothing waits for (QUEUED to RUNNING) is held the same way
(`change_later`) and applied by the next append, in its transaction, with its events.
A later change merges into a pending one: the later one's fields win, the earlier one's
expected states stand (they are checked against the run as stored, before either
applies), and the log keeps both changes' events, in order.

Audit records ride the same way: a decision's record is `carry`d until the next append,
and a change's records go with the append (or the held change) that makes it. The state
service keeps them in its audit outbox, in the append's transaction, so a record is
durable no later than what it authorizes; once the append is acknowledged they are
handed to the relay (audit_relay.py), which moves them to the policy service's log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

from google.protobuf import field_mask_pb2, timestamp_pb2

from airspace.mesh import errors
from airspace.mesh.reasons import Reason
from airspace.policy.v1 import policy_pb2
from airspace.router.local_events import LocalEvents
from airspace.router.repositories import Appended, AuditStored, RunChange, RunRepository
from airspace.state.v1 import state_pb2
from airspace.v1 import run_pb2

log = logging.getLogger("airspace.router")
# Appends refused because other writers kept moving the log before giving up.
MAX_CURSOR_MOVES = 5
TERMINAL_STATES = (
    run_pb2.RUN_STATE_COMPLETED,
    run_pb2.RUN_STATE_FAILED,
    run_pb2.RUN_STATE_CANCELED,
)


class RunLog:
    def __init__(
        self,
        runs: RunRepository,
        tenant: str,
        run_id: str,
        lease_owner: str = "",
        lease_token: int = 0,
        last_sequence: int | None = None,
        local_events: LocalEvents | None = None,
        relay: AuditStored | None = None,
    ):
        """`last_sequence` is the run's last event sequence when known (read otherwise);
        what the state service acknowledged is published to `local_events`, and the audit
        records it stored to `relay`."""
        self._runs = runs
        self._local_events = local_events
        self._relay = relay
        self.tenant = tenant
        self.run_id = run_id
        self.lease_owner = lease_owner
        # The grant this log writes under: appends after the lease moved on are refused.
        self.lease_token = lease_token
        self._last = last_sequence
        # Appends of one run go one at a time, each after the previous one's sequence.
        self._lock = asyncio.Lock()
        self._pending: list[run_pb2.RunEvent] = []
        self._pending_since = 0.0
        # Journal entries of completed steps the next append writes, and how many of those
        # (buffered or in an append under way) are not durable yet.
        self._completed: list[state_pb2.JournalEntry] = []
        self._unwritten = 0
        # Appends the buffer once its delay is up, when no other write took it first.
        self._flush_timer: asyncio.Task[None] | None = None
        # The change of the run the next append applies, with its audit records.
        self._change: RunChange | None = None
        # Audit records the next append stores: decisions carried, and the held change's.
        self._audit: list[policy_pb2.AuditRecord] = []
        # An append of this log ended the run (and freed its lease with it).
        self.ended = False

    def record(self, *events: run_pb2.RunEvent) -> None:
        """Buffers events for the next append (see the module docstring)."""
        if not self._pending:
            self._pending_since = time.monotonic()
        self._pending.extend(self._stamped(events))

    def carry(self, record: policy_pb2.AuditRecord) -> None:
        """Holds a decision's audit record for the next append (see the module docstring)."""
        self._audit.append(record)

    async def store_audit(self) -> None:
        """Appends now if audit records wait, for what is about to act outside the run
        (an agent's action, a person's approval) to have its decision's record durable.
        A decision's verdict event is recorded beside its record: the append has events."""
        if self._audit:
            await self.append()

    def change_later(
        self,
        *events: run_pb2.RunEvent,
        run: run_pb2.Run,
        expected_states: Sequence[run_pb2.RunState] = (),
        audit: Sequence[policy_pb2.AuditRecord] = (),
    ) -> None:
        """Records the events and holds the change, with its audit records, for the next
        append (see the module docstring)."""
        self.record(*events)
        self._change = merged(self._change, RunChange(run, expected_states))
        self._audit.extend(audit)

    def complete_later(
        self, *events: run_pb2.RunEvent, journal: list[state_pb2.JournalEntry], within: float
    ) -> None:
        """Holds a completed step's events and journal entries for the next append, which
        comes within `within` seconds at the latest (see the module docstring)."""
        self.record(*events)
        self._completed.extend(journal)
        self._unwritten += len(journal)
        self._flush_in(within)

    async def write_completed(self) -> None:
        """Returns once every step completed so far is durable, appending those that wait."""
        if not self._unwritten:
            return
        async with self._lock:  # an append under way may be carrying them
            if self._completed:
                await self._append_locked([], None, ())

    async def flush(self, older_than: float = 0.0) -> None:
        """Appends buffered events once the oldest has waited `older_than` seconds: now if
        it has, else when it will have (see the module docstring)."""
        if not self._pending:
            return
        waited = time.monotonic() - self._pending_since
        if waited >= older_than:
            await self.append()
        else:
            self._flush_in(older_than - waited)

    def _flush_in(self, delay: float) -> None:
        """Has the buffer appended within `delay` (a timer set already fires earlier)."""
        if self._flush_timer is None:
            self._flush_timer = asyncio.create_task(self._flush_after(delay))

    async def _flush_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._flush_timer = None
        async with self._lock:
            if not self._pending:  # an append that was under way took them
                return
            try:
                await self._append_locked([], None, ())
            except errors.MeshError as exc:
                # The events stay buffered for the run's next append; a run that has
                # ended (canceled meanwhile, say) has no next append and needs none.
                log.debug("run %s: buffered events not appended yet: %s", self.run_id, exc)

    async def append(self, *events: run_pb2.RunEvent) -> int:
        """Appends the events (with what waits: buffered events, completed steps, a held
        change) atomically; returns the last sequence."""
        appended = await self._append(events, None, ())
        return appended.last_sequence

    async def append_with_update(
        self,
        *events: run_pb2.RunEvent,
        run: run_pb2.Run,
        expected_states: Sequence[run_pb2.RunState] = (),
        audit: Sequence[policy_pb2.AuditRecord] = (),
    ) -> run_pb2.Run:
        """Appends the events and sets the run's fields that `run` has set (state,
        output, error, usage) in one transaction, with the change's audit records;
        returns the updated run."""
        appended = await self._append(events, RunChange(run, expected_states), audit)
        if appended.run is not None:
            return appended.run
        # Reconciled after a lost reply: the update committed with the events.
        return await self._runs.get(self.tenant, self.run_id)

    def _stamped(self, events: Iterable[run_pb2.RunEvent]) -> list[run_pb2.RunEvent]:
        now = timestamp_pb2.Timestamp()
        now.GetCurrentTime()
        for event in events:
            event.run_id = self.run_id
            if not event.HasField("time"):
                event.time.CopyFrom(now)
        return list(events)

    async def _append(
        self,
        events: Iterable[run_pb2.RunEvent],
        change: RunChange | None,
        audit: Sequence[policy_pb2.AuditRecord],
    ) -> Appended:
        stamped = self._stamped(events)
        async with self._lock:
            return await self._append_locked(stamped, change, audit)

    async def _append_locked(
        self,
        events: list[run_pb2.RunEvent],
        change: RunChange | None,
        audit: Sequence[policy_pb2.AuditRecord],
    ) -> Appended:
        if self._flush_timer is not None:  # this append takes what the timer waits for
            self._flush_timer.cancel()
            self._flush_timer = None
        events, self._pending = [*self._pending, *events], []
        completed, self._completed = self._completed, []
        held, self._change = self._change, None
        carried, self._audit = self._audit, []
        change = merged(held, change)
        stored = [*carried, *audit]
        try:
            appended = await self._append_in_order(events, completed, change, stored)
        except BaseException:
            # Not written: the buffered events, completed steps, the held change and the
            # records carried go with the next append; those of this append's own change
            # do not.
            self._pending = [*events, *self._pending]
            self._completed = [*completed, *self._completed]
            self._change = merged(held, self._change)
            self._audit = [*carried, *self._audit]
            raise
        self._unwritten -= len(completed)
        if self._local_events is not None:
            self._local_events.publish(self.run_id, events, appended.last_sequence)
        if stored and self._relay is not None:
            self._relay.stored(stored)
        if _ends_run(change):
            self.ended = True
        return appended

    async def _append_in_order(
        self,
        events: list[run_pb2.RunEvent],
        journal: list[state_pb2.JournalEntry],
        change: RunChange | None,
        audit: Sequence[policy_pb2.AuditRecord],
    ) -> Appended:
        if self._last is None:
            self._last = (await self._runs.get(self.tenant, self.run_id)).last_event_sequence
        for _ in range(MAX_CURSOR_MOVES):
            try:
                appended = await self._runs.append(
                    self.tenant,
                    self.run_id,
                    events,
                    expected_last_sequence=self._last,
                    lease_owner=self.lease_owner,
                    lease_token=self.lease_token,
                    journal=journal,
                    change=change,
                    audit=audit,
                )
            except errors.Aborted as exc:
                if exc.reason != Reason.SEQUENCE_MISMATCH:
                    raise
                landed = await self._find(events, int(exc.metadata.get("last_sequence", 0)))
                if landed is not None:
                    log.info("run %s: an append's reply was lost; it had landed", self.run_id)
                    return landed
                continue  # another writer appended: follow on after its events
            except errors.FailedPrecondition as exc:
                # An ending whose reply was lost freed the lease its retry names.
                if exc.reason != Reason.LEASE_NOT_HELD or not _ends_run(change):
                    raise
                landed = await self._find(events, self._last or 0)
                if landed is None:
                    raise
                log.info("run %s: the reply to its end was lost; it had landed", self.run_id)
                return landed
            self._last = appended.last_sequence
            return appended
        raise errors.Aborted(
            f"the event log of run {self.run_id} kept moving; gave up appending",
            reason=Reason.SEQUENCE_MISMATCH,
        )

    async def _find(self, events: list[run_pb2.RunEvent], reported_last: int) -> Appended | None:
        """Looks for `events` after the cursor (right after it, or after others' events);
        moves the cursor to the end of the log and returns the append's outcome if found."""
        stored = await self._runs.events(self.tenant, self.run_id, self._last or 0, 5000)
        self._last = stored[-1].sequence if stored else reported_last
        for start in range(len(stored) - len(events) + 1):
            window = stored[start : start + len(events)]
            if all(_same(ours, theirs) for ours, theirs in zip(events, window, strict=True)):
                return Appended(window[-1].sequence)
        return None


def _ends_run(change: RunChange | None) -> bool:
    return change is not None and change.run.state in TERMINAL_STATES


def merged(earlier: RunChange | None, later: RunChange | None) -> RunChange | None:
    """One change doing both (see the module docstring)."""
    if earlier is None or later is None:
        return earlier or later
    run = run_pb2.Run()
    run.CopyFrom(earlier.run)
    fields = [field.name for field, _ in later.run.ListFields() if field.name != "run_id"]
    field_mask_pb2.FieldMask(paths=fields).MergeMessage(
        later.run, run, replace_message_field=True, replace_repeated_field=True
    )
    return RunChange(run, earlier.expected_states)


def _same(ours: run_pb2.RunEvent, stored: run_pb2.RunEvent) -> bool:
    """Whether a stored event is ours: equal but for the sequence the store gave it.
    Ours carry their own timestamp to the microsecond, so another writer's never match."""
    candidate = run_pb2.RunEvent()
    candidate.CopyFrom(stored)
    candidate.sequence = 0
    return candidate == ours


def event(step_key: str = "", agent: str = "", **kind: Any) -> run_pb2.RunEvent:
    """A RunEvent with one kind set, e.g. event("s0001-extract", "extractor", step_started=...)."""
    return run_pb2.RunEvent(step_key=step_key, agent=agent, **kind)
