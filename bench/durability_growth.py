"""Growth benchmark of the state store: do its hot paths stay flat as it grows?

Fills one store with 10k runs and another with 1M (bulk-inserted straight into the
store's own schema: the same few hundred runs still active in both, each leased by
a live router, all others finished, every run with events), then times the hot paths through
the store's API on each, in turns, and prints the medians side by side with the ratio
1M / 10k. A flat store shows ratios near 1; an index missing from a hot path shows one
near 100. Active runs are as many in both: they follow the load, not the history.

    python -m bench.durability_growth [--sizes 10000,1000000] [--ops 300] [--dir DIR]

Run by `make bench` (python -m bench), not by tests.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import pathlib
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable

from airspace.state import records
from airspace.state.sqlite import migrations
from airspace.state.sqlite.store import SqliteStateStore
from airspace.v1 import run_pb2
from bench.report import table

TENANTS = 4
ACTIVE_RUNS = 200  # still QUEUED or RUNNING, spread over the history
EVENTS_PER_RUN = 3
DEFAULT_SIZES = (10_000, 1_000_000)
DEFAULT_OPS = 300
ROUNDS = 3
_BATCH = 50_000
# Fixed-length placeholders in serialized templates, replaced per row without re-encoding.
_RUN_ID, _REQUEST_ID = b"R" * 32, b"Q" * 32
_DONE = run_pb2.RUN_STATE_COMPLETED
# The router whose live lease holds every active run.
_HOLDER = "router-bench"


def _template(state: run_pb2.RunState) -> bytes:
    """A stored run as bytes; each row swaps its ids into the placeholders and shares the
    rest (the blob is only decoded, never searched)."""
    run = run_pb2.Run(
        run_id=_RUN_ID.decode(),
        name=f"runs/{_RUN_ID.decode()}",
        tenant="tenant-0",
        request_id=_REQUEST_ID.decode(),
        state=state,
        created_by="user:bench",
        trace_id="0" * 32,
    )
    run.workflow.name, run.workflow.version = "growth", 1
    run.input.update({"text": "a contract of a few lines, as runs usually carry"})
    run.create_time.FromMicroseconds(1_700_000_000_000_000)
    return run.SerializeToString()


def _event_template() -> bytes:
    event = run_pb2.RunEvent(
        run_id=_RUN_ID.decode(), step_key="s0001-step", agent="agent", sequence=1
    )
    event.step_started.step_name = "step"
    event.time.FromMicroseconds(1_700_000_000_000_000)
    return event.SerializeToString()


@dataclasses.dataclass
class Filled:
    # (tenant, run_id) of the active runs, and of a sample of all runs.
    active: list[tuple[str, str]]
    sample: list[tuple[str, str]]


def fill(path: pathlib.Path, runs: int, sample_size: int = 1000) -> Filled:
    """Bulk-loads `runs` runs with their events and leases.

    Indexes are dropped during the load and rebuilt after it, and the file is unjournaled
    meanwhile: minutes of row-by-row inserts become seconds."""
    migrations.apply_migrations(path)
    db = sqlite3.connect(path, isolation_level=None)
    indexes = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in indexes:
        db.execute(f"DROP INDEX {name}")
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-1000000")  # 1 GB: index builds sort in memory
    db.execute("PRAGMA temp_store=MEMORY")
    templates = {state: _template(state) for state in (*records.CLAIMABLE_RUN_STATES, _DONE)}
    event = _event_template()
    now = records.micros(time.time())
    every = max(1, runs // ACTIVE_RUNS)
    # Ids in key order make the load append to the B-trees instead of splitting pages
    # all over them; lookups cost the same either way.
    first_id = random.getrandbits(127)
    sampled = set(random.sample(range(runs), min(sample_size, runs)))
    filled = Filled([], [])
    db.execute("BEGIN")
    for start in range(0, runs, _BATCH):
        rows, leases = [], []
        events: list[tuple[str, int, bytes]] = []
        for index in range(start, min(start + _BATCH, runs)):
            run_id, tenant = f"{first_id + index:032x}", f"tenant-{index % TENANTS}"
            active = index % every == 0
            state = records.CLAIMABLE_RUN_STATES[index % 2] if active else _DONE
            created = now - (runs - index) * 1000
            data = templates[state].replace(_RUN_ID, run_id.encode())
            data = data.replace(_REQUEST_ID, run_id.encode())
            rows.append(
                (
                    run_id,
                    tenant,
                    run_id,
                    "growth",
                    state,
                    created,
                    EVENTS_PER_RUN,
                    None if active else created + 500,
                    data,
                )
            )
            stored_event = event.replace(_RUN_ID, run_id.encode())
            events.extend((run_id, seq, stored_event) for seq in range(1, EVENTS_PER_RUN + 1))
            if active:
                filled.active.append((tenant, run_id))
                leases.append((run_id, _HOLDER, 1))
            if index in sampled:
                filled.sample.append((tenant, run_id))
        db.executemany(
            "INSERT INTO runs (run_id, tenant, request_id, workflow, state, create_us,"
            " last_sequence, end_us, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.executemany("INSERT INTO events (run_id, sequence, data) VALUES (?, ?, ?)", events)
        db.executemany("INSERT INTO leases (run_id, owner, token) VALUES (?, ?, ?)", leases)
    db.execute(
        "INSERT INTO router_leases (router_id, epoch, expire_us) VALUES (?, 1, ?)",
        (_HOLDER, now + 3_600_000_000),
    )
    db.execute("COMMIT")
    for _, sql in indexes:
        db.execute(sql)
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    return filled


def hot_paths(store: SqliteStateStore, filled: Filled) -> dict[str, Callable[[], Awaitable]]:
    """One call of each hot path, on random runs of the filled store."""

    async def create_run():
        run = run_pb2.Run(run_id=uuid.uuid4().hex, tenant="tenant-0", request_id=uuid.uuid4().hex)
        run.workflow.name = "growth"
        await store.runs.create_run(run)

    async def append_events():
        tenant, run_id = random.choice(filled.active)
        event = run_pb2.RunEvent(step_key="s0002-step", agent="agent")
        event.step_started.step_name = "step"
        await store.runs.append_events(
            tenant, run_id, [event], [], expected_last_sequence=None, lease_owner=""
        )

    async def get_run():
        await store.runs.get_run(*random.choice(filled.sample))

    async def list_runs_first_page():
        await store.runs.list_runs("tenant-0", workflow="", state=0, page_size=50, page_token="")

    async def renew_router_lease():
        await store.leases.renew_router_lease(_HOLDER, 1, 3600)

    async def claim_runs():  # a recovery pass of another router: every run is held
        await store.leases.claim_runs(_HOLDER, 1, 100, min_age_seconds=2)

    return {
        "CreateRun": create_run,
        "AppendEvents": append_events,
        "GetRun": get_run,
        "ListRuns (first page)": list_runs_first_page,
        "RenewRouterLease": renew_router_lease,
        "ClaimRuns": claim_runs,
    }


async def _timed(call: Callable[[], Awaitable]) -> float:
    began = time.perf_counter()
    await call()
    return time.perf_counter() - began


async def measure(stores: dict[int, SqliteStateStore], filled: dict[int, Filled], ops: int):
    """Latencies in seconds per (size, operation). Sizes take turns call by call, so both
    see the same machine conditions; the first of ROUNDS rounds only warms up (reader
    threads open their connections lazily and fill their page caches)."""
    paths = {size: hot_paths(stores[size], filled[size]) for size in stores}
    latencies: dict[tuple[int, str], list[float]] = {}
    for round_no in range(ROUNDS):
        for name in paths[next(iter(paths))]:
            for _ in range(ops):
                for size in paths:
                    took = await _timed(paths[size][name])
                    if round_no:
                        latencies.setdefault((size, name), []).append(took)
    return latencies


def _micros(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"{statistics.median(ordered) * 1e6:,.0f} ({p95 * 1e6:,.0f})"


def report(latencies, sizes: list[int], setup: dict[int, float], where: str) -> str:
    small, large = sizes[0], sizes[-1]
    names = list(dict.fromkeys(name for _, name in latencies))
    rows = []
    for name in names:
        row = [name, *(_micros(latencies[(size, name)]) for size in sizes)]
        ratio = statistics.median(latencies[(large, name)]) / statistics.median(
            latencies[(small, name)]
        )
        rows.append([*row, f"{ratio:.2f}"])
    headers = ["operation", *(f"{size:,} runs" for size in sizes), f"{large:,} / {small:,}"]
    fills = ", ".join(f"{size:,} runs in {seconds:.1f} s" for size, seconds in setup.items())
    return "\n".join(
        [
            "",
            "State store growth: median (p95) latency per call in microseconds, through the",
            f"store's API (SQLite WAL, synchronous=FULL) in {where}; filled {fills}.",
            table(headers, rows),
        ]
    )


def _sizes(text: str) -> list[int]:
    sizes = [int(part) for part in text.split(",") if part.strip()]
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError("give at least two sizes, e.g. 10000,1000000")
    return sorted(sizes)


async def _run(args) -> str:
    stores, filled, setup = {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="airspace-growth-", dir=args.dir) as folder:
        try:
            for size in args.sizes:
                began = time.perf_counter()
                path = pathlib.Path(folder) / f"state-{size}.db"
                filled[size] = fill(path, size)
                setup[size] = time.perf_counter() - began
                stores[size] = SqliteStateStore(path)
            latencies = await measure(stores, filled, args.ops)
        finally:
            for store in stores.values():
                await store.close()
        return report(latencies, args.sizes, setup, args.dir or tempfile.gettempdir())


def main(argv: list[str] | None = None) -> int:
    """Runs the benchmark and prints its table; argv None means the defaults."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.durability_growth", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--sizes", type=_sizes, default=list(DEFAULT_SIZES), help="store sizes in runs"
    )
    parser.add_argument("--ops", type=int, default=DEFAULT_OPS, help="timed calls per operation")
    parser.add_argument("--dir", help="where the databases go (default: the system temp dir)")
    args = parser.parse_args([] if argv is None else argv)
    print(asyncio.run(_run(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
