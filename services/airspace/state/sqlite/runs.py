"""Runs, their event logs and step journals on SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from typing import TypeVar

from google.protobuf.message import Message

from airspace.policy.v1 import policy_pb2
from airspace.state import paging, records
from airspace.state.pages import page_of
from airspace.state.rules import leases as lease_rules
from airspace.state.rules import payloads as payload_rules
from airspace.state.rules import runs as rules
from airspace.state.rules.payloads import EVENT_FIELDS, JOURNAL_FIELDS, RUN_FIELDS, Stored
from airspace.state.rules.runs import run_from_row
from airspace.state.run_signals import RunSignals
from airspace.state.sqlite import audit_outbox, leases, memory, payloads
from airspace.state.sqlite.access import Db
from airspace.state.sqlite.database import SqliteDatabase
from airspace.state.sqlite.run_rows import load_run, run_position
from airspace.state.store.leases import RunClaim
from airspace.state.store.page import Page
from airspace.state.store.runs import (
    Appended,
    CreatedRun,
    EventPage,
    Pruned,
    RunChange,
    RunStore,
)
from airspace.state.v1 import state_pb2
from airspace.v1 import run_pb2

M = TypeVar("M", bound=Message)


class SqliteRunStore(RunStore):
    def __init__(self, database: SqliteDatabase, *, payload_inline_bytes: int):
        self._database = database
        self._inline_bytes = payload_inline_bytes
        self._signals = RunSignals()

    async def create_run(
        self,
        run: run_pb2.Run,
        request_digest: str = "",
        claim: RunClaim | None = None,
        audit_records: Sequence[policy_pb2.AuditRecord] = (),
    ) -> CreatedRun:
        def create(db: Db) -> CreatedRun:
            now = self._database.now()
            row = db.execute(
                "SELECT data, last_sequence, payload_refs, request_digest FROM runs"
                " WHERE tenant = ? AND request_id = ?",
                (run.tenant, run.request_id),
            ).fetchone()
            if row is not None:
                found = payloads.load(db, [(run.tenant, row[2])])
                existing = rules.existing_run(row, request_digest, found)
                token = leases.claim_created(db, existing.run_id, claim, False, now)
                return CreatedRun(existing, False, token)
            if db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run.run_id,)).fetchone():
                raise rules.run_already_exists(run.run_id)
            stored = rules.new_run(run, now)
            record = self._split(stored, RUN_FIELDS)
            payloads.save(db, run.tenant, run.run_id, [record])
            db.execute(
                "INSERT INTO runs (run_id, tenant, request_id, workflow, state, create_us,"
                " last_sequence, end_us, data, payload_refs, request_digest)"
                " VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
                rules.run_row(stored, record, now, request_digest),
            )
            audit_outbox.keep(db, claim.router_id if claim else "", audit_records, now)
            return CreatedRun(stored, True, leases.claim_created(db, run.run_id, claim, True, now))

        return await self._database.write(create)

    async def get_run(self, tenant: str, run_id: str) -> run_pb2.Run:
        return await self._database.read(lambda db: load_run(db, tenant, run_id))

    async def list_runs(
        self, tenant: str, *, workflow: str, state: int, page_size: int, page_token: str
    ) -> Page[run_pb2.Run]:
        after = paging.decode(page_token, (int, str))

        def list_(db: Db) -> Page[run_pb2.Run]:
            conditions = rules.listing_conditions(tenant, workflow, state, after)
            sql = (
                "SELECT data, last_sequence, payload_refs, create_us, run_id FROM runs"
                f" WHERE {conditions.sql('?')} ORDER BY create_us DESC, run_id DESC LIMIT ?"
            )
            rows = db.execute(sql, [*conditions.args, page_size + 1]).fetchall()
            found = payloads.load(db, [(tenant, row[2]) for row in rows[:page_size]])
            return page_of(
                rows, page_size, lambda row: run_from_row(row, found), lambda row: [row[3], row[4]]
            )

        return await self._database.read(list_)

    async def update_run(
        self,
        tenant: str,
        patch: run_pb2.Run,
        fields: Sequence[str],
        expected_states: Collection[int],
    ) -> run_pb2.Run:
        change = RunChange(patch, fields, expected_states)
        updated = await self._database.write(
            lambda db: self._change_run(db, tenant, patch.run_id, change, self._database.now())
        )
        self._signals.notify(patch.run_id)
        return updated

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
        def append(db: Db) -> Appended:
            now = self._database.now()
            state, last, _ = run_position(db, tenant, run_id)
            if lease_owner:
                leases.check_lease_held(db, run_id, lease_owner, lease_token, now)
            rules.check_appendable(run_id, state, last, expected_last_sequence)
            step_keys = [entry.step_key for entry in journal_entries]
            rules.check_new_step_keys(run_id, step_keys, _journaled(db, run_id, step_keys))
            stamped = rules.stamped_events(run_id, last, events, now)
            event_records = [self._split(event, EVENT_FIELDS) for event in stamped]
            entries = rules.stamped_journal(journal_entries, now)
            entry_records = [self._split(entry, JOURNAL_FIELDS) for entry in entries]
            payloads.save(db, tenant, run_id, [*event_records, *entry_records])
            db.conn.executemany(
                "INSERT INTO events (run_id, sequence, data, payload_refs) VALUES (?, ?, ?, ?)",
                [
                    (run_id, event.sequence, record.data, record.refs)
                    for event, record in zip(stamped, event_records, strict=True)
                ],
            )
            db.conn.executemany(
                "INSERT INTO journal (run_id, step_key, data, payload_refs) VALUES (?, ?, ?, ?)",
                [
                    (run_id, entry.step_key, record.data, record.refs)
                    for entry, record in zip(entries, entry_records, strict=True)
                ],
            )
            new_last = last + len(events)
            db.execute("UPDATE runs SET last_sequence = ? WHERE run_id = ?", (new_last, run_id))
            audit_outbox.keep(db, lease_owner, audit_records, now)
            if change is None:
                return Appended(new_last)
            # In the same transaction as the events: both land or neither does.
            updated = self._change_run(db, tenant, run_id, change, now)
            updated.last_event_sequence = new_last
            return Appended(new_last, updated)

        appended = await self._database.write(append)
        self._signals.notify(run_id)
        return appended

    async def list_events(
        self, tenant: str, run_id: str, *, after_sequence: int, limit: int
    ) -> EventPage:
        def list_(db: Db) -> EventPage:
            state, last, pruned = run_position(db, tenant, run_id)
            if pruned and after_sequence < last:
                raise rules.run_pruned(run_id, pruned)
            rows = db.execute(
                "SELECT data, payload_refs FROM events WHERE run_id = ? AND sequence > ?"
                " ORDER BY sequence LIMIT ?",
                (run_id, after_sequence, limit),
            ).fetchall()
            return EventPage(
                events=_joined(db, tenant, run_pb2.RunEvent, rows),
                run_ended=state in records.TERMINAL_RUN_STATES,
                last_sequence=last,
            )

        return await self._database.read(list_)

    def subscribe(self, run_id: str) -> AbstractContextManager[asyncio.Event]:
        return self._signals.subscribe(run_id)

    async def get_journal(self, tenant: str, run_id: str) -> list[state_pb2.JournalEntry]:
        def read(db: Db) -> list[state_pb2.JournalEntry]:
            pruned = run_position(db, tenant, run_id)[2]
            if pruned:
                raise rules.run_pruned(run_id, pruned)
            rows = db.execute(
                "SELECT data, payload_refs FROM journal WHERE run_id = ? ORDER BY id", (run_id,)
            ).fetchall()
            return _joined(db, tenant, state_pb2.JournalEntry, rows)

        return await self._database.read(read)

    async def prune_runs(
        self, tenant: str, finished_before_micros: int, *, validate_only: bool, limit: int
    ) -> Pruned:
        prunable = (
            "FROM runs WHERE tenant = ? AND end_us IS NOT NULL AND end_us < ? AND prune_us IS NULL"
        )
        args = (tenant, finished_before_micros)

        def count(db: Db) -> Pruned:
            runs, events = db.execute(
                f"SELECT COUNT(*), COALESCE(SUM(last_sequence), 0) {prunable}", args
            ).fetchone()
            (journal,) = db.execute(
                f"SELECT COUNT(*) FROM journal WHERE run_id IN (SELECT run_id {prunable})", args
            ).fetchone()
            return Pruned(runs, events, journal)

        def prune(db: Db) -> Pruned:
            rows = db.execute(
                f"SELECT run_id, data {prunable} ORDER BY end_us LIMIT ?", (*args, limit + 1)
            ).fetchall()
            now, events, journal = self._database.now(), 0, 0
            for run_id, data in rows[:limit]:
                events += db.execute("DELETE FROM events WHERE run_id = ?", (run_id,)).rowcount
                journal += db.execute("DELETE FROM journal WHERE run_id = ?", (run_id,)).rowcount
                memory.delete_namespace(db, tenant, f"run/{run_id}")
                run = rules.without_payloads(data)
                db.execute(
                    "UPDATE runs SET prune_us = ?, data = ?, payload_refs = NULL WHERE run_id = ?",
                    (now, run.SerializeToString(), run_id),
                )
                payloads.release(db, tenant, run_id)
            return Pruned(min(len(rows), limit), events, journal, more=len(rows) > limit)

        if validate_only:
            return await self._database.read(count)
        return await self._database.write(prune)

    def _split(self, record: Message, fields: tuple[str, ...]) -> Stored:
        return payload_rules.split(record, fields, self._inline_bytes)

    def _change_run(
        self, db: Db, tenant: str, run_id: str, change: RunChange, now: int
    ) -> run_pb2.Run:
        updated = rules.changed_run(load_run(db, tenant, run_id), change, now)
        record = self._split(updated, RUN_FIELDS)
        payloads.save(db, tenant, run_id, [record])
        db.execute(
            "UPDATE runs SET state = ?, end_us = ?, data = ?, payload_refs = ? WHERE run_id = ?",
            (updated.state, rules.end_micros(updated), record.data, record.refs, run_id),
        )
        if lease_rules.freed_by(updated):
            leases.free_lease(db, run_id)
        return updated


def _joined(db: Db, tenant: str, record_type: type[M], rows: list) -> list[M]:
    """The records of rows of (data, payload_refs), their payloads put back."""
    found = payloads.load(db, [(tenant, refs) for _, refs in rows])
    return [payload_rules.join(record_type, data, refs, found) for data, refs in rows]


def _journaled(db: Db, run_id: str, step_keys: list[str]) -> list[str]:
    """Which of the step keys the run already journaled."""
    if not step_keys:
        return []
    marks = ", ".join("?" * len(step_keys))
    rows = db.execute(
        f"SELECT step_key FROM journal WHERE run_id = ? AND step_key IN ({marks})",
        (run_id, *step_keys),
    )
    return [key for (key,) in rows]
