"""Do a state store's hot paths stay flat as it grows? The part every store shares.

Each store is filled (by its own bench module) with the rows of bench/growth_rows.py at
every size; then the hot paths are timed through the store's API on each size, in turns,
and reported side by side with the ratio largest / smallest. A flat store shows ratios
near 1; an index missing from a hot path shows one near the ratio of the sizes.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping

from airspace.state import records
from airspace.state.store.state import StateStore
from airspace.state.v1 import state_pb2
from airspace.v1 import run_pb2
from bench.growth_rows import HOLDER, JOURNAL_PER_RUN, TENANTS, Filled
from bench.report import table

DEFAULT_SIZES = (10_000, 1_000_000)
DEFAULT_OPS = 300
ROUNDS = 3
PAGE_SIZE = 50

HotPaths = dict[str, Callable[[], Awaitable[object]]]
# Fills a store of the given size and opens it: the store and what it was filled with.
Grow = Callable[[int], tuple[StateStore, Filled]]
# Seconds per call, by (size, operation).
Latencies = dict[tuple[int, str], list[float]]


def hot_paths(store: StateStore, filled: Filled) -> HotPaths:
    """One call of each hot path, on random runs and tenants of the filled store."""
    new_steps = itertools.count(JOURNAL_PER_RUN + 1)

    def tenant() -> str:
        return f"tenant-{random.randrange(TENANTS)}"

    async def create_run():
        run = run_pb2.Run(run_id=uuid.uuid4().hex, tenant=tenant(), request_id=uuid.uuid4().hex)
        run.workflow.name = "flow-0"
        await store.runs.create_run(run)

    async def append_events():  # a step completed by the router holding the run
        owner, run_id = random.choice(filled.active)
        step_key = f"s{next(new_steps):06d}-step"
        event = run_pb2.RunEvent(step_key=step_key, agent="agent")
        event.step_completed.step_name = "step"
        entry = state_pb2.JournalEntry(step_key=step_key, step_name="step", agent="agent")
        await store.runs.append_events(
            owner, run_id, [event], [entry], expected_last_sequence=None, lease_owner=HOLDER
        )

    async def get_run():
        await store.runs.get_run(*random.choice(filled.sample))

    async def list_runs(state: int = 0):
        await store.runs.list_runs(
            tenant(), workflow="", state=state, page_size=PAGE_SIZE, page_token=""
        )

    async def list_events():
        owner, run_id = random.choice(filled.sample)
        await store.runs.list_events(owner, run_id, after_sequence=0, limit=100)

    async def claim_runs():  # a recovery pass of the holder: every active run is held
        await store.leases.claim_runs(HOLDER, 1, 100, min_age_seconds=2)

    async def renew_router_lease():
        await store.leases.renew_router_lease(HOLDER, 1, 3600)

    async def due_approvals():  # the router's sweep for approvals past their deadline
        await store.approvals.list_due_approvals(records.micros(time.time()), 100)

    return {
        "CreateRun": create_run,
        "AppendEvents (with journal)": append_events,
        "GetRun": get_run,
        "ListRuns (first page)": list_runs,
        "ListRuns (state RUNNING)": lambda: list_runs(run_pb2.RUN_STATE_RUNNING),
        # No recent run is in it: without an index on state, the whole history is read.
        "ListRuns (state WAITING_APPROVAL)": lambda: list_runs(run_pb2.RUN_STATE_WAITING_APPROVAL),
        "ListEvents": list_events,
        "ClaimRuns": claim_runs,
        "RenewRouterLease": renew_router_lease,
        "ListDueApprovals": due_approvals,
    }


async def _timed(call: Callable[[], Awaitable[object]]) -> float:
    began = time.perf_counter()
    await call()
    return time.perf_counter() - began


async def measure(paths: Mapping[int, HotPaths], ops: int) -> Latencies:
    """Latencies per (size, operation). Sizes take turns call by call, so all see the
    same machine conditions; the first of ROUNDS rounds only warms up (connections open
    lazily, caches fill)."""
    latencies: Latencies = {}
    names = list(next(iter(paths.values())))
    for round_no in range(ROUNDS):
        for name in names:
            for _ in range(ops):
                for size, calls in paths.items():
                    took = await _timed(calls[name])
                    if round_no:
                        latencies.setdefault((size, name), []).append(took)
    return latencies


async def grow_and_measure(grow: Grow, sizes: list[int], ops: int) -> dict:
    """Grows a store of each size, times its hot paths, and closes them: the sizes, how
    long each took to fill, and the figures of every operation."""
    stores: list[StateStore] = []
    paths, setup = {}, {}
    try:
        for size in sizes:
            began = time.perf_counter()
            store, filled = grow(size)
            setup[str(size)] = time.perf_counter() - began
            stores.append(store)
            paths[size] = hot_paths(store, filled)
        latencies = await measure(paths, ops)
    finally:
        for store in stores:
            await store.close()
    return {"sizes": sizes, "fill_seconds": setup, "operations": figures(latencies, sizes)}


def _percentile_ms(samples: list[float], percent: int) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(len(ordered) * percent / 100) - 1)] * 1000


def figures(latencies: Latencies, sizes: list[int]) -> dict:
    """Per operation: p50 and p99 in ms at each size, and the p50 ratio largest / smallest."""
    small, large = sizes[0], sizes[-1]
    found: dict = {}
    for name in dict.fromkeys(name for _, name in latencies):
        at = {
            str(size): {
                "p50_ms": _percentile_ms(latencies[(size, name)], 50),
                "p99_ms": _percentile_ms(latencies[(size, name)], 99),
            }
            for size in sizes
        }
        ratio = statistics.median(latencies[(large, name)]) / statistics.median(
            latencies[(small, name)]
        )
        found[name] = {**at, "ratio_p50": ratio}
    return found


def render(operations: Mapping[str, dict], sizes: list[int]) -> str:
    small, large = sizes[0], sizes[-1]
    rows = [
        [
            name,
            *(f"{f[str(s)]['p50_ms']:.2f} ({f[str(s)]['p99_ms']:.2f})" for s in sizes),
            f"{f['ratio_p50']:.2f}",
        ]
        for name, f in operations.items()
    ]
    headers = ["operation", *(f"{size:,} runs" for size in sizes), f"{large:,} / {small:,}"]
    return table(headers, rows)


def fills(seconds: Mapping[int, float]) -> str:
    return ", ".join(f"{size:,} runs in {took:.1f} s" for size, took in seconds.items())


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    """A command line of a growth benchmark, with the sizes and the calls to time."""
    made = argparse.ArgumentParser(prog=prog, description=description)
    made.add_argument(
        "--sizes", type=parse_sizes, default=list(DEFAULT_SIZES), help="store sizes in runs"
    )
    made.add_argument("--ops", type=int, default=DEFAULT_OPS, help="timed calls per operation")
    return made


def parse_sizes(text: str) -> list[int]:
    sizes = sorted(int(part) for part in text.split(",") if part.strip())
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError("give at least two sizes, e.g. 10000,1000000")
    return sizes
