"""Runs, their events and journal entries: stamping and the checks of an append."""

from __future__ import annotations

import collections
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from airspace.mesh import errors
from airspace.state import records
from airspace.state.conditions import Conditions
from airspace.state.rules.payloads import Stored, join
from airspace.state.store.runs import RunChange
from airspace.state.v1 import state_pb2
from airspace.v1 import run_pb2


def new_run(run: run_pb2.Run, now: int) -> run_pb2.Run:
    """The run as first stored: named, QUEUED unless it says otherwise, stamped."""
    stored = run_pb2.Run()
    stored.CopyFrom(run)
    stored.name = f"runs/{run.run_id}"
    stored.state = run.state or run_pb2.RUN_STATE_QUEUED
    stored.last_event_sequence = 0
    stored.create_time.CopyFrom(records.timestamp(now))
    stored.update_time.CopyFrom(records.timestamp(now))
    if stored.state in records.TERMINAL_RUN_STATES and not stored.HasField("end_time"):
        stored.end_time.CopyFrom(records.timestamp(now))
    return stored


def run_row(stored: run_pb2.Run, record: Stored, now: int, request_digest: str) -> tuple:
    """The columns (run_id, tenant, request_id, workflow, state, create_us, end_us, data,
    payload_refs, request_digest) of a new run, its record as split for its row."""
    return (
        stored.run_id,
        stored.tenant,
        stored.request_id,
        stored.workflow.name,
        stored.state,
        now,
        end_micros(stored),
        record.data,
        record.refs,
        request_digest or None,
    )


def existing_run(row: Any, request_digest: str, payloads: Mapping[str, bytes]) -> run_pb2.Run:
    """The run created before with the same request_id, from (data, last_sequence,
    payload_refs, request_digest); ALREADY_EXISTS REQUEST_ID_REUSED when it answers
    another request. Runs stored before digests were (and callers that send none) are
    not compared."""
    run = run_from_row(row, payloads)
    if request_digest and row[3] and row[3] != request_digest:
        raise errors.AlreadyExists(
            f"request_id {run.request_id!r} belongs to {run.name}, which was created from"
            " a different request; send a new request_id for a new request",
            reason="REQUEST_ID_REUSED",
            metadata={"run": run.name},
        )
    return run


def listing_conditions(tenant: str, workflow: str, state: int, after: list | None) -> Conditions:
    """ListRuns' filters; `after` is the (create_us, run_id) of the previous page's last."""
    conditions = Conditions().add("tenant = {}", tenant)
    if workflow:
        conditions.add("workflow = {}", workflow)
    if state:
        conditions.add("state = {}", state)
    if after is not None:
        conditions.add("(create_us, run_id) < ({}, {})", *after)
    return conditions


def run_from_row(row: Any, payloads: Mapping[str, bytes]) -> run_pb2.Run:
    """A run from (data, last_sequence, payload_refs) and the payloads it references:
    the sequence lives in its own column so an append never rewrites the run record."""
    run = join(run_pb2.Run, row[0], row[2], payloads)
    run.last_event_sequence = row[1]
    return run


def end_micros(run: run_pb2.Run) -> int | None:
    """The end time stored in its own column, for pruning; None while the run goes on."""
    ended = run.state in records.TERMINAL_RUN_STATES and run.HasField("end_time")
    return run.end_time.ToMicroseconds() if ended else None


def changed_run(stored: run_pb2.Run, change: RunChange, now: int) -> run_pb2.Run:
    """The run after the change; RUN_STATE_MISMATCH when it is not in an expected state."""
    check_expected_state(stored, change.expected_states)
    return records.apply_run_update(stored, change.patch, change.fields, now)


def check_expected_state(run: run_pb2.Run, expected_states: Collection[int]) -> None:
    if expected_states and run.state not in expected_states:
        raise errors.FailedPrecondition(
            f"run {run.run_id!r} is {run_pb2.RunState.Name(run.state)}, not one of "
            + ", ".join(run_pb2.RunState.Name(s) for s in sorted(expected_states)),
            reason="RUN_STATE_MISMATCH",
            metadata={"state": run_pb2.RunState.Name(run.state)},
        )


def check_appendable(run_id: str, state: int, last: int, expected_last: int | None) -> None:
    """SEQUENCE_MISMATCH (before RUN_ENDED, so a retried ending learns that its own
    write moved the sequence) or RUN_ENDED."""
    if expected_last is not None and expected_last != last:
        raise errors.Aborted(
            f"run {run_id!r} is at sequence {last}, not {expected_last}",
            reason="SEQUENCE_MISMATCH",
            metadata={"last_sequence": str(last)},
        )
    if state in records.TERMINAL_RUN_STATES:
        raise errors.FailedPrecondition(
            f"run {run_id!r} has ended ({run_pb2.RunState.Name(state)})",
            reason="RUN_ENDED",
            metadata={"state": run_pb2.RunState.Name(state)},
        )


def check_new_step_keys(run_id: str, step_keys: Sequence[str], journaled: Iterable[str]) -> None:
    """ALREADY_EXISTS STEP_ALREADY_JOURNALED for keys given twice or already journaled."""
    repeated = {key for key, count in collections.Counter(step_keys).items() if count > 1}
    repeated.update(journaled)
    if repeated:
        keys = ", ".join(sorted(repeated))
        raise errors.AlreadyExists(
            f"run {run_id!r} already journaled step {keys}",
            reason="STEP_ALREADY_JOURNALED",
            metadata={"step_keys": keys},
        )


def stamped_events(
    run_id: str, last: int, events: Sequence[run_pb2.RunEvent], now: int
) -> list[run_pb2.RunEvent]:
    """The events with the run's next sequences, and a time when they have none."""
    stamped = []
    for offset, event in enumerate(events, start=1):
        stored = run_pb2.RunEvent()
        stored.CopyFrom(event)
        stored.run_id = run_id
        stored.sequence = last + offset
        if not stored.HasField("time"):
            stored.time.CopyFrom(records.timestamp(now))
        stamped.append(stored)
    return stamped


def stamped_journal(
    entries: Sequence[state_pb2.JournalEntry], now: int
) -> list[state_pb2.JournalEntry]:
    stamped = []
    for entry in entries:
        journaled = state_pb2.JournalEntry()
        journaled.CopyFrom(entry)
        if not journaled.HasField("complete_time"):
            journaled.complete_time.CopyFrom(records.timestamp(now))
        stamped.append(journaled)
    return stamped


def without_payloads(data: bytes) -> run_pb2.Run:
    """A pruned run's record: everything but its input and output."""
    run = run_pb2.Run.FromString(data)
    run.ClearField("input")
    run.ClearField("output")
    return run


def run_not_found(run_id: str) -> errors.NotFound:
    return errors.NotFound(f"run {run_id!r} not found")


def run_already_exists(run_id: str) -> errors.AlreadyExists:
    return errors.AlreadyExists(f"run {run_id!r} already exists")


def run_pruned(run_id: str, pruned_micros: int) -> errors.FailedPrecondition:
    when = records.timestamp(pruned_micros).ToJsonString()
    return errors.FailedPrecondition(
        f"the events and journal of run {run_id!r} were pruned at {when}", reason="RUN_PRUNED"
    )
