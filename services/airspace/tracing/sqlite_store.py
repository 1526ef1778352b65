"""Spans in SQLite (WAL) through sqlite-utils.

Each connection lives on its own thread so SQLite never blocks the event loop: one
writer (inserts and retention, serialized) and one reader, which WAL lets run while
the writer commits.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from airspace.mesh.private_files import private_database
from airspace.tracing.store import SpanCursor, SpanEvent, SpanFilter, SpanRecord

TABLE = "spans"
# SQLite integers are signed 64-bit; time bounds beyond them are clamped (years 1677-2262).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
T = TypeVar("T")
# The table's columns and their types, in the order rows are inserted.
_SCHEMA: dict[str, type] = {
    "trace_id": str,
    "span_id": str,
    "parent_span_id": str,
    "name": str,
    "service": str,
    "kind": str,
    "start_unix_nano": int,
    "end_unix_nano": int,
    "status_code": str,
    "status_message": str,
    "attributes": str,
    "events": str,
    "run_id": str,
    "workflow": str,
    "agent": str,
    "sender": str,
}
# One prepared statement for every export (sqlite-utils would rebuild it and re-read the
# schema per call); OR IGNORE drops spans an exporter re-sent.
_INSERT = (
    f"INSERT OR IGNORE INTO {TABLE} ({', '.join(_SCHEMA)}) VALUES ({', '.join('?' * len(_SCHEMA))})"
)


class _Connection:
    """One sqlite-utils Database, opened and used only on its own thread."""

    def __init__(self, path: str | Path, thread_name: str):
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)
        self._db: Database | None = None

    async def run(self, work: Callable[[Database], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, work)

    def _call(self, work: Callable[[Database], T]) -> T:
        if self._db is None:
            self._db = Database(private_database(self._path))
            self._db.execute("PRAGMA busy_timeout = 5000")
        return work(self._db)

    async def close(self) -> None:
        if self._db is not None:
            await self.run(lambda db: db.close())
        self._executor.shutdown(wait=True)


class SqliteSpanStore:
    """A SpanStore keeping at most `max_spans` spans: the oldest by start time go first."""

    def __init__(self, path: str | Path, max_spans: int):
        self._writer = _Connection(path, "trace-writer")
        self._reader = _Connection(path, "trace-reader")
        self._max_spans = max_spans
        self._count = 0  # rows in the table; only the writer thread touches it

    @classmethod
    async def open(cls, path: str | Path, max_spans: int) -> SqliteSpanStore:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        store = cls(path, max_spans)
        await store._writer.run(store._prepare)
        return store

    def _prepare(self, db: Database) -> None:
        db.enable_wal()
        # WAL with synchronous=NORMAL survives process crashes; losing the last spans on
        # power loss is an acceptable trade for telemetry.
        db.execute("PRAGMA synchronous = NORMAL")
        spans = db.table(TABLE)
        spans.create(
            _SCHEMA,
            # The key rejects re-sent spans (exporters retry) and serves trace_id lookups.
            pk=("trace_id", "span_id"),
            not_null=("trace_id", "span_id", "start_unix_nano"),
            if_not_exists=True,
        )
        if "sender" not in spans.columns_dict:  # a database from before senders were kept
            spans.add_column("sender", str)
        spans.create_index(["run_id", "start_unix_nano"], if_not_exists=True)
        spans.create_index(["service", "start_unix_nano"], if_not_exists=True)
        spans.create_index(["start_unix_nano"], if_not_exists=True)
        self._count = db.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]

    async def add(self, spans: Sequence[SpanRecord]) -> int:
        if not spans:
            return 0
        rows = [_row(span) for span in spans]
        return await self._writer.run(lambda db: self._insert(db, rows))

    def _insert(self, db: Database, rows: list[tuple[Any, ...]]) -> int:
        with db.conn:  # one transaction: committed, or rolled back on an error
            before = db.conn.total_changes
            db.conn.executemany(_INSERT, rows)
            added = db.conn.total_changes - before
            excess = self._count + added - self._max_spans
            pruned = 0
            if excess > 0:
                pruned = db.conn.execute(
                    f"DELETE FROM {TABLE} WHERE rowid IN "
                    f"(SELECT rowid FROM {TABLE} ORDER BY start_unix_nano LIMIT ?)",
                    [excess],
                ).rowcount
        self._count += added - pruned
        return added

    async def trace(self, trace_id: str) -> list[SpanRecord]:
        return await self._select(
            f"SELECT * FROM {TABLE} WHERE trace_id = ? ORDER BY start_unix_nano, rowid",
            [trace_id],
        )

    async def run_trace_id(self, run_id: str) -> str | None:
        def first(db: Database) -> str | None:
            found = db.execute(
                f"SELECT trace_id FROM {TABLE} WHERE run_id = ? AND substr(sender, 1, 8) = 'service:' "
                "ORDER BY start_unix_nano LIMIT 1",
                [run_id],
            ).fetchone()
            return found[0] if found else None

        return await self._reader.run(first)

    async def search(
        self, where: SpanFilter, after: SpanCursor | None, limit: int
    ) -> tuple[list[SpanRecord], SpanCursor | None]:
        clauses, params = _conditions(where)
        if after is not None:
            clauses.append("(start_unix_nano, rowid) < (?, ?)")
            params += [after.start_unix_nano, after.sequence]
        condition = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self._reader.run(
            lambda db: list(
                db.query(
                    f"SELECT rowid AS sequence, * FROM {TABLE} {condition} "
                    "ORDER BY start_unix_nano DESC, rowid DESC LIMIT ?",
                    [*params, limit + 1],
                )
            )
        )
        page = rows[:limit]
        more = len(rows) > limit
        cursor = SpanCursor(page[-1]["start_unix_nano"], page[-1]["sequence"]) if more else None
        return [_record(row) for row in page], cursor

    async def _select(self, sql: str, params: list[Any]) -> list[SpanRecord]:
        rows = await self._reader.run(lambda db: list(db.query(sql, params)))
        return [_record(row) for row in rows]

    async def close(self) -> None:
        await self._reader.close()
        await self._writer.close()


def _conditions(where: SpanFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    equal = {
        "service": where.service,
        "run_id": where.run_id,
        "workflow": where.workflow,
        "agent": where.agent,
        "status_code": where.status_code,
    }
    for column, value in equal.items():
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    if where.name_prefix:
        # substr, not LIKE: LIKE ignores case and treats % and _ as wildcards.
        clauses.append("substr(name, 1, ?) = ?")
        params += [len(where.name_prefix), where.name_prefix]
    if where.start_after is not None:
        clauses.append("start_unix_nano >= ?")
        params.append(_int64(where.start_after))
    if where.start_before is not None:
        clauses.append("start_unix_nano < ?")
        params.append(_int64(where.start_before))
    return clauses, params


def _int64(value: int) -> int:
    return max(INT64_MIN, min(value, INT64_MAX))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _row(span: SpanRecord) -> tuple[Any, ...]:
    """The span's values in the order of _SCHEMA."""
    return (
        span.trace_id,
        span.span_id,
        span.parent_span_id,
        span.name,
        span.service,
        span.kind,
        span.start_unix_nano,
        span.end_unix_nano,
        span.status_code,
        span.status_message,
        _json(span.attributes),
        _json(
            [
                {"name": e.name, "time_unix_nano": e.time_unix_nano, "attributes": e.attributes}
                for e in span.events
            ]
        ),
        span.run_id,
        span.workflow,
        span.agent,
        span.sender,
    )


def _record(row: dict[str, Any]) -> SpanRecord:
    return SpanRecord(
        trace_id=row["trace_id"],
        span_id=row["span_id"],
        parent_span_id=row["parent_span_id"],
        name=row["name"],
        service=row["service"],
        kind=row["kind"],
        start_unix_nano=row["start_unix_nano"],
        end_unix_nano=row["end_unix_nano"],
        status_code=row["status_code"],
        status_message=row["status_message"],
        attributes=json.loads(row["attributes"]),
        events=tuple(SpanEvent(**event) for event in json.loads(row["events"])),
        sender=row.get("sender") or "",
    )
