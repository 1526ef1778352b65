"""The StateStore on one SQLite file (WAL), the embedded default.

Every check-then-write runs whole inside the single writer thread (sqlite_access),
so checks and writes are atomic without row locks; reads use their own connections.

Durability: synchronous=FULL. A write is acknowledged only after its transaction's
WAL frames were fsynced, so an acknowledged write survives a killed process and a
power loss. WAL's usual NORMAL fsyncs only at checkpoints: a power loss could drop
the last acknowledged commits, and a router would then re-run a step it was told was
journaled, or lose a run it was told exists. The price, one fsync per commit, is
shared by every write in a group commit (sqlite_access.BatchWriter), so it is paid
per batch, not per write.
"""

from __future__ import annotations

import asyncio
import collections
import pathlib
import time
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager

import sqlite_utils
from google.protobuf import struct_pb2

from airspace.mesh import errors
from airspace.state import paging, records, sqlite_schema
from airspace.state.run_signals import RunSignals
from airspace.state.sqlite_access import BatchWriter, ReaderPool
from airspace.state.store import Appended, Decision, EventPage, Lease, Page, Pruned, RunChange
from airspace.state.v1 import state_pb2
from airspace.v1 import agent_registry_pb2, approval_pb2, run_pb2, workflow_pb2

Db = sqlite_utils.Database
_CLOSED_APPROVAL_STATES = (approval_pb2.APPROVAL_STATE_DECIDED, approval_pb2.APPROVAL_STATE_EXPIRED)


class SqliteStateStore:
    def __init__(
        self,
        path: str | pathlib.Path,
        *,
        read_connections: int = 4,
        clock: Callable[[], float] = time.time,
    ):
        sqlite_schema.create(path)
        self._clock = clock
        self._signals = RunSignals()
        self._writer = BatchWriter(lambda: sqlite_schema.connect(path))
        self._readers = ReaderPool(lambda: sqlite_schema.connect(path), read_connections)

    def _now(self) -> int:
        return records.micros(self._clock())

    async def close(self) -> None:
        await self._writer.close()
        await self._readers.close()

    # Runs -----------------------------------------------------------------

    async def create_run(self, run: run_pb2.Run) -> tuple[run_pb2.Run, bool]:
        def create(db: Db) -> tuple[run_pb2.Run, bool]:
            row = db.execute(
                "SELECT data, last_sequence FROM runs WHERE tenant = ? AND request_id = ?",
                (run.tenant, run.request_id),
            ).fetchone()
            if row is not None:
                return _run(row), False
            if db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run.run_id,)).fetchone():
                raise errors.AlreadyExists(f"run {run.run_id!r} already exists")
            now = self._now()
            stored = run_pb2.Run()
            stored.CopyFrom(run)
            stored.name = f"runs/{run.run_id}"
            stored.state = run.state or run_pb2.RUN_STATE_QUEUED
            stored.last_event_sequence = 0
            stored.create_time.CopyFrom(records.timestamp(now))
            stored.update_time.CopyFrom(records.timestamp(now))
            if stored.state in records.TERMINAL_RUN_STATES and not stored.HasField("end_time"):
                stored.end_time.CopyFrom(records.timestamp(now))
            db.execute(
                "INSERT INTO runs (run_id, tenant, request_id, workflow, state, create_us,"
                " last_sequence, end_us, data) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
                (
                    run.run_id,
                    run.tenant,
                    run.request_id,
                    run.workflow.name,
                    stored.state,
                    now,
                    _end_micros(stored),
                    stored.SerializeToString(),
                ),
            )
            return stored, True

        return await self._writer.submit(create)

    async def get_run(self, tenant: str, run_id: str) -> run_pb2.Run:
        return await self._readers.run(lambda db: _load_run(db, tenant, run_id))

    async def list_runs(
        self, tenant: str, *, workflow: str, state: int, page_size: int, page_token: str
    ) -> Page[run_pb2.Run]:
        after = paging.decode(page_token, (int, str))

        def list_(db: Db) -> Page[run_pb2.Run]:
            sql = "SELECT data, last_sequence, create_us, run_id FROM runs WHERE tenant = ?"
            args: list = [tenant]
            if workflow:
                sql += " AND workflow = ?"
                args.append(workflow)
            if state:
                sql += " AND state = ?"
                args.append(state)
            if after is not None:
                sql += " AND (create_us, run_id) < (?, ?)"
                args.extend(after)
            sql += " ORDER BY create_us DESC, run_id DESC LIMIT ?"
            rows = db.execute(sql, [*args, page_size + 1]).fetchall()
            return _page(rows, page_size, _run, lambda row: [row[2], row[3]])

        return await self._readers.run(list_)

    async def update_run(
        self,
        tenant: str,
        patch: run_pb2.Run,
        fields: Sequence[str],
        expected_states: Collection[int],
    ) -> run_pb2.Run:
        change = RunChange(patch, fields, expected_states)
        updated = await self._writer.submit(
            lambda db: _change_run(db, tenant, patch.run_id, change, self._now())
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
        change: RunChange | None = None,
    ) -> Appended:
        def append(db: Db) -> Appended:
            now = self._now()
            state, last, _ = _position(db, tenant, run_id)
            if lease_owner:
                _check_lease_held(db, run_id, lease_owner, now)
            if expected_last_sequence is not None and expected_last_sequence != last:
                raise errors.Aborted(
                    f"run {run_id!r} is at sequence {last}, not {expected_last_sequence}",
                    reason="SEQUENCE_MISMATCH",
                    metadata={"last_sequence": str(last)},
                )
            if state in records.TERMINAL_RUN_STATES:
                raise errors.FailedPrecondition(
                    f"run {run_id!r} has ended ({run_pb2.RunState.Name(state)})",
                    reason="RUN_ENDED",
                    metadata={"state": run_pb2.RunState.Name(state)},
                )
            _check_new_step_keys(db, run_id, [entry.step_key for entry in journal_entries])
            rows = []
            for offset, event in enumerate(events, start=1):
                stored = run_pb2.RunEvent()
                stored.CopyFrom(event)
                stored.run_id = run_id
                stored.sequence = last + offset
                if not stored.HasField("time"):
                    stored.time.CopyFrom(records.timestamp(now))
                rows.append((run_id, stored.sequence, stored.SerializeToString()))
            db.conn.executemany(
                "INSERT INTO events (run_id, sequence, data) VALUES (?, ?, ?)", rows
            )
            journal_rows = []
            for entry in journal_entries:
                completed = state_pb2.JournalEntry()
                completed.CopyFrom(entry)
                if not completed.HasField("complete_time"):
                    completed.complete_time.CopyFrom(records.timestamp(now))
                journal_rows.append((run_id, entry.step_key, completed.SerializeToString()))
            db.conn.executemany(
                "INSERT INTO journal (run_id, step_key, data) VALUES (?, ?, ?)", journal_rows
            )
            new_last = last + len(events)
            db.execute("UPDATE runs SET last_sequence = ? WHERE run_id = ?", (new_last, run_id))
            if change is None:
                return Appended(new_last)
            updated = _change_run(db, tenant, run_id, change, now)
            updated.last_event_sequence = new_last
            return Appended(new_last, updated)

        appended = await self._writer.submit(append)
        self._signals.notify(run_id)
        return appended

    async def list_events(
        self, tenant: str, run_id: str, *, after_sequence: int, limit: int
    ) -> EventPage:
        def list_(db: Db) -> EventPage:
            state, last, pruned = _position(db, tenant, run_id)
            if pruned and after_sequence < last:
                raise _pruned(run_id, pruned)
            rows = db.execute(
                "SELECT data FROM events WHERE run_id = ? AND sequence > ?"
                " ORDER BY sequence LIMIT ?",
                (run_id, after_sequence, limit),
            ).fetchall()
            return EventPage(
                events=[run_pb2.RunEvent.FromString(data) for (data,) in rows],
                run_ended=state in records.TERMINAL_RUN_STATES,
                last_sequence=last,
            )

        return await self._readers.run(list_)

    def subscribe(self, run_id: str) -> AbstractContextManager[asyncio.Event]:
        return self._signals.subscribe(run_id)

    async def get_journal(self, tenant: str, run_id: str) -> list[state_pb2.JournalEntry]:
        def read(db: Db) -> list[state_pb2.JournalEntry]:
            pruned = _position(db, tenant, run_id)[2]
            if pruned:
                raise _pruned(run_id, pruned)
            rows = db.execute(
                "SELECT data FROM journal WHERE run_id = ? ORDER BY id", (run_id,)
            ).fetchall()
            return [state_pb2.JournalEntry.FromString(data) for (data,) in rows]

        return await self._readers.run(read)

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
            now, events, journal = self._now(), 0, 0
            for run_id, data in rows[:limit]:
                events += db.execute("DELETE FROM events WHERE run_id = ?", (run_id,)).rowcount
                journal += db.execute("DELETE FROM journal WHERE run_id = ?", (run_id,)).rowcount
                db.execute(
                    "DELETE FROM memory WHERE tenant = ? AND namespace = ?",
                    (tenant, f"run/{run_id}"),
                )
                run = run_pb2.Run.FromString(data)
                run.ClearField("input")
                run.ClearField("output")
                db.execute(
                    "UPDATE runs SET prune_us = ?, data = ? WHERE run_id = ?",
                    (now, run.SerializeToString(), run_id),
                )
            return Pruned(min(len(rows), limit), events, journal, more=len(rows) > limit)

        if validate_only:
            return await self._readers.run(count)
        return await self._writer.submit(prune)

    # Workflows ------------------------------------------------------------

    async def put_workflow(
        self, workflow: workflow_pb2.Workflow
    ) -> tuple[workflow_pb2.Workflow, bool]:
        etag = workflow.etag or records.canonical_sha256(workflow.spec)

        def put(db: Db) -> tuple[workflow_pb2.Workflow, bool]:
            latest = db.execute(
                "SELECT version, etag, deleted, data FROM workflows WHERE tenant = ? AND"
                " workflow = ? ORDER BY version DESC LIMIT 1",
                (workflow.tenant, workflow.workflow),
            ).fetchone()
            if latest is not None and latest[1] == etag and not latest[2]:
                return workflow_pb2.Workflow.FromString(latest[3]), False
            version = (latest[0] if latest else 0) + 1
            stored = workflow_pb2.Workflow()
            stored.CopyFrom(workflow)
            stored.name = f"workflows/{workflow.workflow}/versions/{version}"
            stored.version = version
            stored.etag = etag
            stored.create_time.CopyFrom(records.timestamp(self._now()))
            db.execute(
                "INSERT INTO workflows (tenant, workflow, version, etag, deleted, data)"
                " VALUES (?, ?, ?, ?, 0, ?)",
                (workflow.tenant, workflow.workflow, version, etag, stored.SerializeToString()),
            )
            return stored, True

        return await self._writer.submit(put)

    async def get_workflow(self, tenant: str, name: str, version: int) -> workflow_pb2.Workflow:
        def read(db: Db) -> workflow_pb2.Workflow:
            if version:
                row = db.execute(
                    "SELECT data FROM workflows WHERE tenant = ? AND workflow = ? AND version = ?",
                    (tenant, name, version),
                ).fetchone()
            else:
                row = db.execute(
                    "SELECT data FROM workflows WHERE tenant = ? AND workflow = ? AND deleted = 0"
                    " ORDER BY version DESC LIMIT 1",
                    (tenant, name),
                ).fetchone()
            if row is None:
                which = f"version {version} of workflow" if version else "workflow"
                raise errors.NotFound(f"{which} {name!r} not found")
            return workflow_pb2.Workflow.FromString(row[0])

        return await self._readers.run(read)

    async def list_workflows(
        self, tenant: str, *, page_size: int, page_token: str
    ) -> Page[workflow_pb2.Workflow]:
        after = paging.decode(page_token, (str,))

        def list_(db: Db) -> Page[workflow_pb2.Workflow]:
            rows = db.execute(
                "SELECT data, workflow FROM workflows AS w WHERE tenant = ? AND deleted = 0"
                " AND workflow > ? AND version = (SELECT MAX(version) FROM workflows"
                " WHERE tenant = w.tenant AND workflow = w.workflow AND deleted = 0)"
                " ORDER BY workflow LIMIT ?",
                (tenant, after[0] if after else "", page_size + 1),
            ).fetchall()
            return _page(
                rows, page_size, lambda row: workflow_pb2.Workflow.FromString(row[0]), _second
            )

        return await self._readers.run(list_)

    async def delete_workflow(self, tenant: str, name: str) -> None:
        def delete(db: Db) -> None:
            cursor = db.execute(
                "UPDATE workflows SET deleted = 1 WHERE tenant = ? AND workflow = ? AND deleted = 0",
                (tenant, name),
            )
            if cursor.rowcount == 0:
                raise errors.NotFound(f"workflow {name!r} not found")

        await self._writer.submit(delete)

    # Agents ---------------------------------------------------------------

    async def put_agent(self, agent: agent_registry_pb2.Agent) -> agent_registry_pb2.Agent:
        def put(db: Db) -> agent_registry_pb2.Agent:
            stored = agent_registry_pb2.Agent()
            stored.CopyFrom(agent)
            stored.name = f"agents/{agent.agent}"
            stored.register_time.CopyFrom(records.timestamp(self._now()))
            db.execute(
                "INSERT OR REPLACE INTO agents (tenant, agent, data) VALUES (?, ?, ?)",
                (agent.tenant, agent.agent, stored.SerializeToString()),
            )
            return stored

        return await self._writer.submit(put)

    async def get_agent(self, tenant: str, name: str) -> agent_registry_pb2.Agent:
        def read(db: Db) -> agent_registry_pb2.Agent:
            row = db.execute(
                "SELECT data FROM agents WHERE tenant = ? AND agent = ?", (tenant, name)
            ).fetchone()
            if row is None:
                raise errors.NotFound(f"agent {name!r} not found")
            return agent_registry_pb2.Agent.FromString(row[0])

        return await self._readers.run(read)

    async def list_agents(
        self, tenant: str, *, page_size: int, page_token: str
    ) -> Page[agent_registry_pb2.Agent]:
        after = paging.decode(page_token, (str,))

        def list_(db: Db) -> Page[agent_registry_pb2.Agent]:
            rows = db.execute(
                "SELECT data, agent FROM agents WHERE tenant = ? AND agent > ?"
                " ORDER BY agent LIMIT ?",
                (tenant, after[0] if after else "", page_size + 1),
            ).fetchall()
            return _page(
                rows, page_size, lambda row: agent_registry_pb2.Agent.FromString(row[0]), _second
            )

        return await self._readers.run(list_)

    async def delete_agent(self, tenant: str, name: str) -> None:
        def delete(db: Db) -> None:
            cursor = db.execute("DELETE FROM agents WHERE tenant = ? AND agent = ?", (tenant, name))
            if cursor.rowcount == 0:
                raise errors.NotFound(f"agent {name!r} not found")

        await self._writer.submit(delete)

    # Approvals ------------------------------------------------------------

    async def create_approval(self, approval: approval_pb2.Approval) -> approval_pb2.Approval:
        def create(db: Db) -> approval_pb2.Approval:
            existing = _find_approval(db, approval.tenant, approval.approval_id)
            if existing is not None:
                return existing
            _position(db, approval.tenant, approval.run_id)
            now = self._now()
            stored = approval_pb2.Approval()
            stored.CopyFrom(approval)
            stored.name = f"approvals/{approval.approval_id}"
            stored.state = approval_pb2.APPROVAL_STATE_PENDING
            stored.create_time.CopyFrom(records.timestamp(now))
            if not stored.payload_hash:
                stored.payload_hash = records.canonical_sha256(stored.payload)
            db.execute(
                "INSERT INTO approvals (tenant, approval_id, run_id, state, required_role,"
                " create_us, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    approval.tenant,
                    approval.approval_id,
                    approval.run_id,
                    stored.state,
                    approval.required_role,
                    now,
                    stored.SerializeToString(),
                ),
            )
            return stored

        return await self._writer.submit(create)

    async def get_approval(self, tenant: str, approval_id: str) -> approval_pb2.Approval:
        def read(db: Db) -> approval_pb2.Approval:
            approval = _find_approval(db, tenant, approval_id)
            if approval is None:
                raise _approval_not_found(approval_id)
            return approval

        return await self._readers.run(read)

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
        after = paging.decode(page_token, (int, str))

        def list_(db: Db) -> Page[approval_pb2.Approval]:
            sql = "SELECT data, create_us, approval_id FROM approvals WHERE tenant = ?"
            args: list = [tenant]
            if state:
                sql += " AND state = ?"
                args.append(state)
            if roles:
                sql += f" AND required_role IN ({', '.join('?' * len(roles))})"
                args.extend(roles)
            if run_id:
                sql += " AND run_id = ?"
                args.append(run_id)
            if after is not None:
                sql += " AND (create_us, approval_id) > (?, ?)"
                args.extend(after)
            sql += " ORDER BY create_us, approval_id LIMIT ?"
            rows = db.execute(sql, [*args, page_size + 1]).fetchall()
            return _page(
                rows,
                page_size,
                lambda row: approval_pb2.Approval.FromString(row[0]),
                lambda row: [row[1], row[2]],
            )

        return await self._readers.run(list_)

    async def list_due_approvals(
        self, due_before_us: int, limit: int
    ) -> list[approval_pb2.Approval]:
        def list_(db: Db) -> list[approval_pb2.Approval]:
            # Pending approvals are few (people decide them); the state index finds them.
            rows = db.execute(
                "SELECT data FROM approvals WHERE state = ?",
                (approval_pb2.APPROVAL_STATE_PENDING,),
            ).fetchall()
            pending = [approval_pb2.Approval.FromString(row[0]) for row in rows]
            due = [
                a
                for a in pending
                if a.HasField("expire_time") and a.expire_time.ToMicroseconds() < due_before_us
            ]
            return sorted(due, key=lambda a: a.expire_time.ToMicroseconds())[:limit]

        return await self._readers.run(list_)

    async def decide_approval(
        self, tenant: str, approval_id: str, decision: Decision
    ) -> approval_pb2.Approval:
        def decide(db: Db) -> approval_pb2.Approval:
            approval = _find_approval(db, tenant, approval_id)
            if approval is None:
                raise _approval_not_found(approval_id)
            if approval.state in _CLOSED_APPROVAL_STATES:
                raise errors.FailedPrecondition(
                    f"approval {approval_id!r} was already decided",
                    reason="APPROVAL_ALREADY_DECIDED",
                )
            now = self._now()
            expired = approval.HasField("expire_time") and (
                approval.expire_time.ToMicroseconds() <= now
            )
            if expired and decision.outcome != run_pb2.APPROVAL_OUTCOME_EXPIRED:
                raise errors.FailedPrecondition(
                    f"approval {approval_id!r} passed its deadline", reason="APPROVAL_EXPIRED"
                )
            approval.outcome = decision.outcome
            approval.decided_by = decision.decided_by
            approval.comment = decision.comment
            approval.decide_time.CopyFrom(records.timestamp(now))
            if decision.edited_payload is not None:
                approval.edited_payload.CopyFrom(decision.edited_payload)
            approval.state = (
                approval_pb2.APPROVAL_STATE_EXPIRED
                if decision.outcome == run_pb2.APPROVAL_OUTCOME_EXPIRED
                else approval_pb2.APPROVAL_STATE_DECIDED
            )
            db.execute(
                "UPDATE approvals SET state = ?, data = ? WHERE tenant = ? AND approval_id = ?",
                (approval.state, approval.SerializeToString(), tenant, approval_id),
            )
            return approval

        return await self._writer.submit(decide)

    # Shared memory --------------------------------------------------------

    async def get_memory(self, tenant: str, namespace: str, key: str) -> state_pb2.MemoryEntry:
        def read(db: Db) -> state_pb2.MemoryEntry:
            row = _memory_row(db, tenant, namespace, key)
            if not _is_live(row, self._now()):
                raise _memory_not_found(namespace, key)
            return state_pb2.MemoryEntry.FromString(row[2])

        return await self._readers.run(read)

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
        def put(db: Db) -> state_pb2.MemoryEntry:
            now = self._now()
            row = _memory_row(db, tenant, namespace, key)
            if request_id and row is not None and row[3] == request_id:
                return state_pb2.MemoryEntry.FromString(row[2])  # a retry of the last write
            _check_memory_version(
                namespace, key, row[0] if _is_live(row, now) else 0, expected_version
            )
            # Versions keep counting past an expiry, so a stale compare-and-set
            # against a version from before the expiry can never match again.
            entry = state_pb2.MemoryEntry(
                namespace=namespace, key=key, version=(row[0] if row else 0) + 1
            )
            entry.value.CopyFrom(value)
            entry.update_time.CopyFrom(records.timestamp(now))
            expire = None
            if ttl_seconds is not None:
                expire = now + records.micros(ttl_seconds)
                entry.expire_time.CopyFrom(records.timestamp(expire))
            db.execute(
                "INSERT OR REPLACE INTO memory (tenant, namespace, key, version, expire_us,"
                " request_id, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    tenant,
                    namespace,
                    key,
                    entry.version,
                    expire,
                    request_id or None,
                    entry.SerializeToString(),
                ),
            )
            return entry

        return await self._writer.submit(put)

    async def delete_memory(
        self, tenant: str, namespace: str, key: str, *, expected_version: int | None
    ) -> None:
        def delete(db: Db) -> None:
            row = _memory_row(db, tenant, namespace, key)
            if not _is_live(row, self._now()):
                raise _memory_not_found(namespace, key)
            _check_memory_version(namespace, key, row[0], expected_version)
            db.execute(
                "DELETE FROM memory WHERE tenant = ? AND namespace = ? AND key = ?",
                (tenant, namespace, key),
            )

        await self._writer.submit(delete)

    async def list_memory(
        self, tenant: str, namespace: str, *, key_prefix: str, page_size: int, page_token: str
    ) -> Page[state_pb2.MemoryEntry]:
        after = paging.decode(page_token, (str,))

        def list_(db: Db) -> Page[state_pb2.MemoryEntry]:
            rows = db.execute(
                "SELECT data, key FROM memory WHERE tenant = ? AND namespace = ? AND key > ?"
                " AND key >= ? AND substr(key, 1, ?) = ?"
                " AND (expire_us IS NULL OR expire_us > ?) ORDER BY key LIMIT ?",
                (
                    tenant,
                    namespace,
                    after[0] if after else "",
                    key_prefix,
                    len(key_prefix),
                    key_prefix,
                    self._now(),
                    page_size + 1,
                ),
            ).fetchall()
            return _page(
                rows, page_size, lambda row: state_pb2.MemoryEntry.FromString(row[0]), _second
            )

        return await self._readers.run(list_)

    # Leases ---------------------------------------------------------------

    async def acquire_lease(self, run_id: str, owner: str, ttl_seconds: float) -> Lease:
        def acquire(db: Db) -> Lease:
            if not db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
                raise _run_not_found(run_id)
            now = self._now()
            held = db.execute(
                "SELECT owner, expire_us FROM leases WHERE run_id = ?", (run_id,)
            ).fetchone()
            if held is not None and held[0] != owner and held[1] > now:
                return Lease(acquired=False, owner=held[0], expire_time=records.timestamp(held[1]))
            expire = now + records.micros(ttl_seconds)
            db.execute(
                "INSERT OR REPLACE INTO leases (run_id, owner, expire_us) VALUES (?, ?, ?)",
                (run_id, owner, expire),
            )
            return Lease(acquired=True, owner=owner, expire_time=records.timestamp(expire))

        return await self._writer.submit(acquire)

    async def release_lease(self, run_id: str, owner: str) -> None:
        # Releasing a lease one no longer holds (it expired and moved on) is a no-op.
        await self._writer.submit(
            lambda db: db.execute(
                "DELETE FROM leases WHERE run_id = ? AND owner = ?", (run_id, owner)
            )
        )

    async def list_claimable_runs(
        self, limit: int, min_age_seconds: float = 0.0
    ) -> list[run_pb2.Run]:
        def list_(db: Db) -> list[run_pb2.Run]:
            now = self._now()
            rows = db.execute(
                "SELECT r.data, r.last_sequence FROM runs AS r INDEXED BY runs_active"
                " LEFT JOIN leases AS l ON l.run_id = r.run_id"
                f" WHERE r.state IN ({sqlite_schema.ACTIVE_STATES_SQL})"
                " AND ((l.run_id IS NULL AND r.create_us <= ?) OR l.expire_us <= ?)"
                " ORDER BY r.create_us, r.run_id LIMIT ?",
                (now - records.micros(min_age_seconds), now, limit),
            ).fetchall()
            return [_run(row) for row in rows]

        return await self._readers.run(list_)


# Row helpers, run inside a reader or writer transaction ----------------------


def _run(row) -> run_pb2.Run:
    """A run from (data, last_sequence): the sequence lives in its own column so an
    append never rewrites the run record."""
    run = run_pb2.Run.FromString(row[0])
    run.last_event_sequence = row[1]
    return run


def _second(row) -> list:
    return [row[1]]


def _page(rows: list, page_size: int, load, key) -> Page:
    """A page from up to page_size + 1 rows; the extra row only tells that more follow."""
    more = len(rows) > page_size
    rows = rows[:page_size]
    token = paging.encode(key(rows[-1])) if more else ""
    return Page(items=[load(row) for row in rows], next_page_token=token)


def _run_not_found(run_id: str) -> errors.NotFound:
    return errors.NotFound(f"run {run_id!r} not found")


def _load_run(db: Db, tenant: str, run_id: str) -> run_pb2.Run:
    row = db.execute(
        "SELECT data, last_sequence FROM runs WHERE run_id = ? AND tenant = ?", (run_id, tenant)
    ).fetchone()
    if row is None:
        raise _run_not_found(run_id)
    return _run(row)


def _position(db: Db, tenant: str, run_id: str) -> tuple[int, int, int | None]:
    """The run's (state, last sequence, prune time); NOT_FOUND when the tenant has no such run."""
    row = db.execute(
        "SELECT state, last_sequence, prune_us FROM runs WHERE run_id = ? AND tenant = ?",
        (run_id, tenant),
    ).fetchone()
    if row is None:
        raise _run_not_found(run_id)
    return row


def _change_run(db: Db, tenant: str, run_id: str, change: RunChange, now: int) -> run_pb2.Run:
    stored = _load_run(db, tenant, run_id)
    if change.expected_states and stored.state not in change.expected_states:
        raise errors.FailedPrecondition(
            f"run {run_id!r} is {run_pb2.RunState.Name(stored.state)}, not one of "
            + ", ".join(run_pb2.RunState.Name(s) for s in sorted(change.expected_states)),
            reason="RUN_STATE_MISMATCH",
            metadata={"state": run_pb2.RunState.Name(stored.state)},
        )
    updated = records.apply_run_update(stored, change.patch, change.fields, now)
    db.execute(
        "UPDATE runs SET state = ?, end_us = ?, data = ? WHERE run_id = ?",
        (updated.state, _end_micros(updated), updated.SerializeToString(), run_id),
    )
    return updated


def _end_micros(run: run_pb2.Run) -> int | None:
    ended = run.state in records.TERMINAL_RUN_STATES and run.HasField("end_time")
    return run.end_time.ToMicroseconds() if ended else None


def _pruned(run_id: str, pruned_micros: int) -> errors.FailedPrecondition:
    when = records.timestamp(pruned_micros).ToJsonString()
    return errors.FailedPrecondition(
        f"the events and journal of run {run_id!r} were pruned at {when}", reason="RUN_PRUNED"
    )


def _check_lease_held(db: Db, run_id: str, owner: str, now: int) -> None:
    held = db.execute(
        "SELECT 1 FROM leases WHERE run_id = ? AND owner = ? AND expire_us > ?",
        (run_id, owner, now),
    ).fetchone()
    if held is None:
        raise errors.FailedPrecondition(
            f"{owner!r} does not hold the lease of run {run_id!r}", reason="LEASE_NOT_HELD"
        )


def _check_new_step_keys(db: Db, run_id: str, step_keys: list[str]) -> None:
    repeated = {key for key, count in collections.Counter(step_keys).items() if count > 1}
    if step_keys:
        marks = ", ".join("?" * len(step_keys))
        journaled = db.execute(
            f"SELECT step_key FROM journal WHERE run_id = ? AND step_key IN ({marks})",
            (run_id, *step_keys),
        )
        repeated.update(key for (key,) in journaled)
    if repeated:
        keys = ", ".join(sorted(repeated))
        raise errors.AlreadyExists(
            f"run {run_id!r} already journaled step {keys}",
            reason="STEP_ALREADY_JOURNALED",
            metadata={"step_keys": keys},
        )


def _find_approval(db: Db, tenant: str, approval_id: str) -> approval_pb2.Approval | None:
    row = db.execute(
        "SELECT data FROM approvals WHERE tenant = ? AND approval_id = ?", (tenant, approval_id)
    ).fetchone()
    return None if row is None else approval_pb2.Approval.FromString(row[0])


def _approval_not_found(approval_id: str) -> errors.NotFound:
    return errors.NotFound(f"approval {approval_id!r} not found")


def _memory_row(db: Db, tenant: str, namespace: str, key: str):
    """(version, expire_us, data, request_id) of a stored entry, expired or not, or None."""
    return db.execute(
        "SELECT version, expire_us, data, request_id FROM memory WHERE tenant = ?"
        " AND namespace = ? AND key = ?",
        (tenant, namespace, key),
    ).fetchone()


def _is_live(row, now: int) -> bool:
    """Expired entries behave as absent."""
    return row is not None and (row[1] is None or row[1] > now)


def _check_memory_version(namespace: str, key: str, current: int, expected: int | None) -> None:
    if expected is not None and expected != current:
        raise errors.Aborted(
            f"memory {namespace}/{key} is at version {current}, not {expected}",
            reason="VERSION_MISMATCH",
            metadata={"version": str(current)},
        )


def _memory_not_found(namespace: str, key: str) -> errors.NotFound:
    return errors.NotFound(f"memory key {key!r} not found in namespace {namespace!r}")
