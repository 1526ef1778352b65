"""Runs, their event logs and step journals on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from typing import TypeVar

from google.protobuf.message import Message

from airspace.policy.v1 import policy_pb2
from airspace.state import paging, records
from airspace.state.pages import page_of
from airspace.state.postgres import audit_outbox, leases, memory, payloads
from airspace.state.postgres.database import PostgresDatabase
from airspace.state.postgres.notifications import NOTIFY_SQL
from airspace.state.postgres.run_rows import load_run, run_position
from airspace.state.postgres.statements import (
    Conn,
    execute,
    execute_many,
    fetch_all,
    fetch_one,
    fetch_row,
)
from airspace.state.rules import leases as lease_rules
from airspace.state.rules import payloads as payload_rules
from airspace.state.rules import runs as rules
from airspace.state.rules.payloads import EVENT_FIELDS, JOURNAL_FIELDS, RUN_FIELDS, Stored
from airspace.state.rules.runs import run_from_row
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
_PRUNABLE = (
    "FROM runs WHERE tenant = %s AND end_us IS NOT NULL AND end_us < %s AND prune_us IS NULL"
)


class PostgresRunStore(RunStore):
    # Writes of every process NOTIFY, and this process LISTENs (notifications.py).
    signals_every_writer = True

    def __init__(self, database: PostgresDatabase, *, payload_inline_bytes: int):
        self._database = database
        self._inline_bytes = payload_inline_bytes
        self._signals = database.signals

    async def create_run(
        self,
        run: run_pb2.Run,
        request_digest: str = "",
        claim: RunClaim | None = None,
        audit_records: Sequence[policy_pb2.AuditRecord] = (),
    ) -> CreatedRun:
        async def create(conn: Conn) -> CreatedRun:
            now = self._database.now()
            # Two creations of one request collide on a key; the rerun finds the winner's.
            row = await fetch_one(
                conn,
                "SELECT data, last_sequence, payload_refs, request_digest FROM runs"
                " WHERE tenant = %s AND request_id = %s",
                (run.tenant, run.request_id),
            )
            if row is not None:
                found = await payloads.load(conn, [(run.tenant, row[2])])
                existing = rules.existing_run(row, request_digest, found)
                token = await leases.claim_created(conn, existing.run_id, claim, False, now)
                return CreatedRun(existing, False, token)
            if await fetch_one(conn, "SELECT 1 FROM runs WHERE run_id = %s", (run.run_id,)):
                raise rules.run_already_exists(run.run_id)
            stored = rules.new_run(run, now)
            record = self._split(stored, RUN_FIELDS)
            await payloads.save(conn, run.tenant, run.run_id, [record])
            await execute(
                conn,
                "INSERT INTO runs (run_id, tenant, request_id, workflow, state, create_us,"
                " last_sequence, end_us, data, payload_refs, request_digest)"
                " VALUES (%s, %s, %s, %s, %s, %s, 0, %s, %s, %s, %s)",
                rules.run_row(stored, record, now, request_digest),
            )
            token = await leases.claim_created(conn, run.run_id, claim, True, now)
            await audit_outbox.keep(conn, claim.router_id if claim else "", audit_records, now)
            return CreatedRun(stored, True, token)

        return await self._database.write(create)

    async def get_run(self, tenant: str, run_id: str) -> run_pb2.Run:
        return await self._database.read(lambda conn: load_run(conn, tenant, run_id))

    async def list_runs(
        self, tenant: str, *, workflow: str, state: int, page_size: int, page_token: str
    ) -> Page[run_pb2.Run]:
        after = paging.decode(page_token, (int, str))

        async def list_(conn: Conn) -> Page[run_pb2.Run]:
            conditions = rules.listing_conditions(tenant, workflow, state, after)
            sql = (
                "SELECT data, last_sequence, payload_refs, create_us, run_id FROM runs"
                f" WHERE {conditions.sql('%s')} ORDER BY create_us DESC, run_id DESC LIMIT %s"
            )
            rows = await fetch_all(conn, sql, [*conditions.args, page_size + 1])
            found = await payloads.load(conn, [(tenant, row[2]) for row in rows[:page_size]])
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

        async def update(conn: Conn) -> run_pb2.Run:
            updated = await self._change_run(
                conn, tenant, patch.run_id, change, self._database.now()
            )
            await conn.execute(NOTIFY_SQL, (patch.run_id,))
            return updated

        return await self._database.write(update)

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
        async def append(conn: Conn) -> Appended:
            now = self._database.now()
            # The run's row lock serializes appends of one run: gap-free sequences.
            state, last, _ = await run_position(conn, tenant, run_id, lock=True)
            if lease_owner:
                await leases.check_lease_held(conn, run_id, lease_owner, lease_token, now)
            rules.check_appendable(run_id, state, last, expected_last_sequence)
            step_keys = [entry.step_key for entry in journal_entries]
            rules.check_new_step_keys(run_id, step_keys, await _journaled(conn, run_id, step_keys))
            stamped = rules.stamped_events(run_id, last, events, now)
            event_records = [self._split(event, EVENT_FIELDS) for event in stamped]
            entries = rules.stamped_journal(journal_entries, now)
            entry_records = [self._split(entry, JOURNAL_FIELDS) for entry in entries]
            await payloads.save(conn, tenant, run_id, [*event_records, *entry_records])
            await execute_many(
                conn,
                "INSERT INTO events (run_id, sequence, data, payload_refs) VALUES (%s, %s, %s, %s)",
                [
                    (run_id, event.sequence, record.data, record.refs)
                    for event, record in zip(stamped, event_records, strict=True)
                ],
            )
            await execute_many(
                conn,
                "INSERT INTO journal (run_id, step_key, data, payload_refs)"
                " VALUES (%s, %s, %s, %s)",
                [
                    (run_id, entry.step_key, record.data, record.refs)
                    for entry, record in zip(entries, entry_records, strict=True)
                ],
            )
            new_last = last + len(events)
            await execute(
                conn, "UPDATE runs SET last_sequence = %s WHERE run_id = %s", (new_last, run_id)
            )
            await audit_outbox.keep(conn, lease_owner, audit_records, now)
            # Delivered to every listener when, and only if, the transaction commits.
            await conn.execute(NOTIFY_SQL, (run_id,))
            if change is None:
                return Appended(new_last)
            # In the same transaction as the events: both land or neither does.
            updated = await self._change_run(conn, tenant, run_id, change, now)
            updated.last_event_sequence = new_last
            return Appended(new_last, updated)

        return await self._database.write(append)

    async def list_events(
        self, tenant: str, run_id: str, *, after_sequence: int, limit: int
    ) -> EventPage:
        async def list_(conn: Conn) -> EventPage:
            state, last, pruned = await run_position(conn, tenant, run_id)
            if pruned and after_sequence < last:
                raise rules.run_pruned(run_id, pruned)
            rows = await fetch_all(
                conn,
                "SELECT data, payload_refs FROM events WHERE run_id = %s AND sequence > %s"
                " ORDER BY sequence LIMIT %s",
                (run_id, after_sequence, limit),
            )
            return EventPage(
                events=await _joined(conn, tenant, run_pb2.RunEvent, rows),
                run_ended=state in records.TERMINAL_RUN_STATES,
                last_sequence=last,
            )

        return await self._database.read(list_)

    def subscribe(self, run_id: str) -> AbstractContextManager[asyncio.Event]:
        """The store starts listening on its first operation, which a watcher's first
        read after subscribing is."""
        return self._signals.subscribe(run_id)

    async def get_journal(self, tenant: str, run_id: str) -> list[state_pb2.JournalEntry]:
        async def read(conn: Conn) -> list[state_pb2.JournalEntry]:
            pruned = (await run_position(conn, tenant, run_id))[2]
            if pruned:
                raise rules.run_pruned(run_id, pruned)
            rows = await fetch_all(
                conn,
                "SELECT data, payload_refs FROM journal WHERE run_id = %s ORDER BY id",
                (run_id,),
            )
            return await _joined(conn, tenant, state_pb2.JournalEntry, rows)

        return await self._database.read(read)

    async def prune_runs(
        self, tenant: str, finished_before_micros: int, *, validate_only: bool, limit: int
    ) -> Pruned:
        args = (tenant, finished_before_micros)

        async def count(conn: Conn) -> Pruned:
            runs, events = await fetch_row(
                conn, f"SELECT COUNT(*), COALESCE(SUM(last_sequence), 0)::bigint {_PRUNABLE}", args
            )
            (journal,) = await fetch_row(
                conn,
                f"SELECT COUNT(*) FROM journal WHERE run_id IN (SELECT run_id {_PRUNABLE})",
                args,
            )
            return Pruned(runs, events, journal)

        async def prune(conn: Conn) -> Pruned:
            rows = await fetch_all(
                conn,
                f"SELECT run_id, data {_PRUNABLE} ORDER BY end_us LIMIT %s FOR UPDATE",
                (*args, limit + 1),
            )
            now, events, journal = self._database.now(), 0, 0
            for run_id, data in rows[:limit]:
                events += await execute(conn, "DELETE FROM events WHERE run_id = %s", (run_id,))
                journal += await execute(conn, "DELETE FROM journal WHERE run_id = %s", (run_id,))
                await memory.delete_namespace(conn, tenant, f"run/{run_id}")
                await execute(
                    conn,
                    "UPDATE runs SET prune_us = %s, data = %s, payload_refs = NULL"
                    " WHERE run_id = %s",
                    (now, rules.without_payloads(data).SerializeToString(), run_id),
                )
                await payloads.release(conn, tenant, run_id)
            return Pruned(min(len(rows), limit), events, journal, more=len(rows) > limit)

        if validate_only:
            return await self._database.read(count)
        return await self._database.write(prune)

    def _split(self, record: Message, fields: tuple[str, ...]) -> Stored:
        return payload_rules.split(record, fields, self._inline_bytes)

    async def _change_run(
        self, conn: Conn, tenant: str, run_id: str, change: RunChange, now: int
    ) -> run_pb2.Run:
        updated = rules.changed_run(await load_run(conn, tenant, run_id, lock=True), change, now)
        record = self._split(updated, RUN_FIELDS)
        await payloads.save(conn, tenant, run_id, [record])
        await execute(
            conn,
            "UPDATE runs SET state = %s, end_us = %s, data = %s, payload_refs = %s"
            " WHERE run_id = %s",
            (updated.state, rules.end_micros(updated), record.data, record.refs, run_id),
        )
        if lease_rules.freed_by(updated):
            await leases.free_lease(conn, run_id)
        return updated


async def _joined(conn: Conn, tenant: str, record_type: type[M], rows: list) -> list[M]:
    """The records of rows of (data, payload_refs), their payloads put back."""
    found = await payloads.load(conn, [(tenant, refs) for _, refs in rows])
    return [payload_rules.join(record_type, data, refs, found) for data, refs in rows]


async def _journaled(conn: Conn, run_id: str, step_keys: list[str]) -> list[str]:
    """Which of the step keys the run already journaled."""
    if not step_keys:
        return []
    rows = await fetch_all(
        conn,
        "SELECT step_key FROM journal WHERE run_id = %s AND step_key = ANY(%s)",
        (run_id, step_keys),
    )
    return [key for (key,) in rows]
