"""Large payloads benchmark of the state store: what storing them once by digest, apart
from the hot rows, changes.

Two stores of one kind are filled alike: N runs that each read the same 200 KiB
document (their input), complete a step with it as output (a StepCompleted event and its
journal entry) and end with it as the run's output (the run record and its RunOutput
event), plus a few active runs holding the document as input. One store keeps every
payload inline (the layout before schema 5: a threshold no payload reaches), the other
stores those above the default threshold by digest. Printed side by side, with the ratio
by digest / inline: the bytes of the hot rows, the database's size, and the median
latency of the hot paths, the two stores taking turns call by call.

    python -m bench.large_payloads [--runs 50] [--ops 60] [--postgres URL]

SQLite always; PostgreSQL too when --postgres names a server (a schema of its own is
made and dropped). Run by hand, not by tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import pathlib
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable

import psycopg
from psycopg import sql

from airspace.state.rules.payloads import DEFAULT_INLINE_BYTES
from airspace.state.store.runs import RunChange
from airspace.state.store.state import StateStore
from airspace.state.v1 import state_pb2
from airspace.v1 import run_pb2
from bench.report import table

# 200 KiB of text that differs all along, so no page or row compression hides its size.
DOCUMENT = " ".join(f"clause-{n}" for n in range(20_000))[: 200 * 1024]
ACTIVE_RUNS = 5
TENANT = "acme"
# Beyond any payload: every payload stays inline, as before schema 5.
ALL_INLINE = 1 << 40
ACTIVE = (run_pb2.RUN_STATE_QUEUED, run_pb2.RUN_STATE_RUNNING)
TABLES = ("runs", "events", "journal", "payloads", "payload_uses")


@dataclasses.dataclass
class Filled:
    store: StateStore
    # Runs the store has: all of them, and those still active.
    finished: list[str]
    active: list[str]
    write_seconds: list[float]


def _run(run_id: str) -> run_pb2.Run:
    run = run_pb2.Run(run_id=run_id, tenant=TENANT, request_id=f"req-{run_id}")
    run.workflow.name, run.workflow.version = "review", 1
    run.input.update({"document": DOCUMENT})
    return run


def _step(step: str) -> tuple[run_pb2.RunEvent, state_pb2.JournalEntry]:
    event = run_pb2.RunEvent(step_key=step, agent="reader")
    event.step_completed.step_name, event.step_completed.attempt = step, 1
    event.step_completed.output.message.parts.add().text = DOCUMENT
    entry = state_pb2.JournalEntry(step_key=step, step_name=step, agent="reader", attempt=1)
    entry.output.CopyFrom(event.step_completed.output)
    return event, entry


async def _append(store, run_id, events, journal=(), change=None):
    # One writer per run here: no expected sequence, no lease.
    unchecked = {"expected_last_sequence": None, "lease_owner": "", "change": change}
    return await store.runs.append_events(TENANT, run_id, events, list(journal), **unchecked)


async def write_run(store: StateStore, run_id: str) -> None:
    """A run that reads the document, returns it from its one step and ends with it."""
    await store.runs.create_run(_run(run_id))
    started = run_pb2.RunEvent(step_key="read", step_started=run_pb2.StepStarted())
    event, entry = _step("read")
    await _append(store, run_id, [started, event], [entry])
    ended = run_pb2.Run(state=run_pb2.RUN_STATE_COMPLETED)
    ended.output.update({"text": DOCUMENT})
    output = run_pb2.RunEvent(run_output=run_pb2.RunOutput(output=ended.output))
    await _append(store, run_id, [output], change=RunChange(ended, ["state", "output"], ACTIVE))


async def fill(stores: dict[str, StateStore], runs: int) -> dict[str, Filled]:
    """The stores filled alike, taking turns run by run."""
    filled = {layout: Filled(store, [], [], []) for layout, store in stores.items()}
    for n in range(runs):
        for one in filled.values():
            began = time.perf_counter()
            await write_run(one.store, f"run-{n:05d}")
            one.write_seconds.append(time.perf_counter() - began)
            one.finished.append(f"run-{n:05d}")
    for one in filled.values():
        for n in range(ACTIVE_RUNS):
            await one.store.runs.create_run(_run(f"active-{n}"))
            one.active.append(f"active-{n}")
    return filled


def hot_paths(filled: Filled) -> dict[str, Callable[[], Awaitable]]:
    store, turn = filled.store, {"n": 0}

    def next_of(runs: list[str]) -> str:
        turn["n"] += 1
        return runs[turn["n"] % len(runs)]

    async def get_run():
        await store.runs.get_run(TENANT, next_of(filled.finished))

    async def list_runs_page_of_20():
        await store.runs.list_runs(TENANT, workflow="", state=0, page_size=20, page_token="")

    async def list_events():
        await store.runs.list_events(TENANT, next_of(filled.finished), after_sequence=0, limit=50)

    async def get_journal():
        await store.runs.get_journal(TENANT, next_of(filled.finished))

    async def append_event():
        started = run_pb2.RunEvent(step_key="s", step_started=run_pb2.StepStarted())
        await _append(store, next_of(filled.active), [started])

    async def append_with_run_change():
        # Every state change and metered step rewrites the run record.
        patch = run_pb2.Run(state=run_pb2.RUN_STATE_RUNNING)
        patch.usage.steps = turn["n"]
        started = run_pb2.RunEvent(step_key="s", step_started=run_pb2.StepStarted())
        change = RunChange(patch, ["state", "usage"], ACTIVE)
        await _append(store, next_of(filled.active), [started], change=change)

    return {
        "GetRun": get_run,
        "ListRuns (20, 200 KiB each)": list_runs_page_of_20,
        "ListEvents (3 events)": list_events,
        "GetJournal": get_journal,
        "AppendEvents": append_event,
        "AppendEvents + run change": append_with_run_change,
    }


async def measure(filled: dict[str, Filled], ops: int) -> dict[str, dict[str, float]]:
    """Median seconds per operation and layout; the layouts take turns call by call, so
    the load of the machine weighs on both alike."""
    paths = {layout: hot_paths(one) for layout, one in filled.items()}
    samples: dict[str, dict[str, list[float]]] = {layout: {} for layout in paths}
    for name in next(iter(paths.values())):
        for _ in range(ops):
            for layout, calls in paths.items():
                began = time.perf_counter()
                await calls[name]()
                samples[layout].setdefault(name, []).append(time.perf_counter() - began)
    return {
        layout: {name: statistics.median(times) for name, times in by_name.items()}
        for layout, by_name in samples.items()
    }


@dataclasses.dataclass
class Kind:
    """A store implementation: how to open a store of each layout and read its sizes."""

    name: str
    open: Callable[[str, int], StateStore]
    # (layout) -> {table: (rows, bytes of data)}, and the database's size in bytes.
    row_bytes: Callable[[str], dict[str, tuple[int, int]]]
    size: Callable[[str], int]


@contextlib.contextmanager
def sqlite_kind(folder: pathlib.Path):
    from airspace.state.sqlite.store import SqliteStateStore

    def path(layout: str) -> pathlib.Path:
        return folder / f"{layout}.db"

    def query(layout: str, text: str) -> list[tuple]:
        with contextlib.closing(sqlite3.connect(path(layout))) as db:
            return db.execute(text).fetchall()

    def size(layout: str) -> int:
        query(layout, "PRAGMA wal_checkpoint(TRUNCATE)")
        (pages,), (page_size,) = (
            query(layout, "PRAGMA page_count")[0],
            query(layout, "PRAGMA page_size")[0],
        )
        return pages * page_size

    yield Kind(
        "SQLite",
        lambda layout, inline: SqliteStateStore(path(layout), payload_inline_bytes=inline),
        lambda layout: _row_bytes(lambda text: query(layout, text)),
        size,
    )


@contextlib.contextmanager
def postgres_kind(url: str):
    from airspace.state.postgres.store import PostgresStateStore

    schemas = {layout: f"bench_{layout}_{uuid.uuid4().hex[:8]}" for layout in ("inline", "digest")}
    with psycopg.connect(url, autocommit=True) as conn:
        for schema in schemas.values():
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))

    def schema_url(layout: str) -> str:
        return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schemas[layout]}"

    def query(layout: str, text: str) -> list[tuple]:
        with psycopg.connect(schema_url(layout)) as conn:
            return conn.execute(text).fetchall()

    def size(layout: str) -> int:
        total = " + ".join(f"pg_total_relation_size('{table}')" for table in TABLES)
        return query(layout, f"SELECT {total}")[0][0]

    try:
        yield Kind(
            "PostgreSQL",
            lambda layout, inline: PostgresStateStore(
                schema_url(layout), pool_size=2, payload_inline_bytes=inline
            ),
            lambda layout: _row_bytes(lambda text: query(layout, text)),
            size,
        )
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            for schema in schemas.values():
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def _row_bytes(query: Callable[[str], list[tuple]]) -> dict[str, tuple[int, int]]:
    found = {}
    for name in TABLES[:4]:
        ((rows, data),) = query(f"SELECT COUNT(*), COALESCE(SUM(length(data)), 0) FROM {name}")
        found[name] = (rows, int(data))
    return found


async def bench_kind(kind: Kind, runs: int, ops: int) -> str:
    layouts = {"inline": ALL_INLINE, "digest": DEFAULT_INLINE_BYTES}
    filled = await fill(
        {layout: kind.open(layout, inline) for layout, inline in layouts.items()}, runs
    )
    timings = await measure(filled, ops)
    for one in filled.values():
        await one.store.close()

    rows = []
    sizes = {layout: kind.row_bytes(layout) for layout in layouts}
    for table_name in TABLES[:4]:
        inline_rows, inline_bytes = sizes["inline"][table_name]
        digest_rows, digest_bytes = sizes["digest"][table_name]
        rows.append(
            [
                f"{table_name}: bytes per row",
                _per_row(inline_bytes, inline_rows),
                _per_row(digest_bytes, digest_rows),
                _ratio(digest_bytes / max(digest_rows, 1), inline_bytes / max(inline_rows, 1)),
            ]
        )
    inline_size, digest_size = kind.size("inline"), kind.size("digest")
    rows.append(
        [
            f"database size ({runs} runs)",
            f"{inline_size / 2**20:.1f} MiB",
            f"{digest_size / 2**20:.1f} MiB",
            _ratio(digest_size, inline_size),
        ]
    )
    write = {layout: statistics.median(one.write_seconds) for layout, one in filled.items()}
    rows.append(["write a run (3 appends)", *_times(write["inline"], write["digest"])])
    for name in timings["inline"]:
        rows.append([name, *_times(timings["inline"][name], timings["digest"][name])])
    headers = [kind.name, "inline", f"by digest (> {DEFAULT_INLINE_BYTES // 1024} KiB)", "ratio"]
    return table(headers, rows)


def _per_row(total: int, rows: int) -> str:
    return f"{total / rows:,.0f} B x {rows}" if rows else "-"


def _ratio(after: float, before: float) -> str:
    return f"{after / before:.3f}" if before else "-"


def _times(inline: float, digest: float) -> list[str]:
    return [f"{inline * 1e3:.2f} ms", f"{digest * 1e3:.2f} ms", _ratio(digest, inline)]


async def main(args: argparse.Namespace) -> None:
    print(
        f"{args.runs} runs with the same 200 KiB document as input, step output and run"
        f" output; {args.ops} operations per hot path, medians"
    )
    kinds = [sqlite_kind(pathlib.Path(args.dir))]
    if args.postgres:
        kinds.append(postgres_kind(args.postgres))
    for opening in kinds:
        with opening as kind:
            print()
            print(await bench_kind(kind, args.runs, args.ops))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.large_payloads", description=__doc__)
    parser.add_argument("--runs", type=int, default=50, help="finished runs per store")
    parser.add_argument("--ops", type=int, default=60, help="operations per hot path")
    parser.add_argument("--postgres", default="", help="a PostgreSQL URL to measure too")
    parser.add_argument("--dir", default="", help="folder of the SQLite files (a temporary one)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        arguments.dir = arguments.dir or scratch
        asyncio.run(main(arguments))
