"""Scale-out benchmark: do more routers mean more runs/s?

Starts four meshes at once — SQLite with one router, and PostgreSQL with one, two and
four routers (each on a schema of its own, dropped afterwards) — and drives durable
three-step runs through each gateway in turns (bench/rounds.py), so drift on the machine
touches all alike. Prints runs/s and latency side by side, each PostgreSQL mesh as a
ratio to the one-router PostgreSQL mesh. On a machine with fewer cores than processes
the ratios say what the cores allow, not what the routers could: read them with the
core count the report names.

    python -m bench.scale_out [--quick] [--concurrency N] [--postgres URL] [--json FILE]

Run by `make bench` (python -m bench) when a PostgreSQL server answers, not by tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import pathlib
import sys
import tempfile

import grpc

from bench import calls, loadgen, report, rounds
from bench.mesh import BenchMesh, start_groups, stop_groups
from bench.postgres import DEFAULT_POSTGRES_URL, postgres_problem, postgres_schema, server_url

# Runs in flight per mesh. A rate counts the runs that end within a round, so rounds last
# several times a run's latency at this concurrency.
DEFAULT_CONCURRENCY = 8
FULL = rounds.Timing(warm_up=2.0, rounds=3, seconds=8.0)
QUICK = rounds.Timing(warm_up=0.3, rounds=1, seconds=1.0)
PG_ROUTERS = (1, 2, 4)
HEADERS = ["mesh", "routers", "runs/s", "p50 ms", "p99 ms", "failed", "vs 1 router"]


@dataclasses.dataclass(frozen=True)
class Setup:
    """One mesh of the comparison."""

    store: str  # "sqlite" or "postgres"
    routers: int

    @property
    def name(self) -> str:
        plural = "s" if self.routers > 1 else ""
        return f"{self.store}, {self.routers} router{plural}"


SETUPS = (Setup("sqlite", 1), *(Setup("postgres", n) for n in PG_ROUTERS))


async def measure(
    home: pathlib.Path, postgres_url: str, timing: rounds.Timing, concurrency: int
) -> dict[Setup, report.Measured]:
    with contextlib.ExitStack() as schemas:
        meshes = {
            setup: BenchMesh(
                home / f"{setup.store}-{setup.routers}",
                tracing=True,
                routers=setup.routers,
                state_url=(
                    schemas.enter_context(postgres_schema(postgres_url))
                    if setup.store == "postgres"
                    else ""
                ),
            )
            for setup in SETUPS
        }
        start_groups(list(meshes.values()))
        try:
            return await _take_turns(meshes, timing, concurrency)
        finally:
            stop_groups(list(meshes.values()))


async def _take_turns(
    meshes: dict[Setup, BenchMesh], timing: rounds.Timing, concurrency: int
) -> dict[Setup, report.Measured]:
    async with contextlib.AsyncExitStack() as stack:
        loads = []
        for setup, mesh in meshes.items():
            channel = await stack.enter_async_context(grpc.aio.insecure_channel(mesh.gateway))
            await mesh.install_workflow(channel)
            call = calls.execute_three_step(channel, mesh.gateway_metadata())
            loads.append(rounds.Load(setup.name, "runs", concurrency, call))
        print(f"measuring for about {timing.estimate(len(loads)):.0f} s ...")
        measured = await rounds.take_turns(loads, timing)
    return dict(zip(meshes, measured, strict=True))


def figures(measured: dict[Setup, report.Measured]) -> dict:
    """Every mesh's figures, and the PostgreSQL ones as ratios to one router."""
    one = next(m.result.rps for s, m in measured.items() if s == Setup("postgres", 1))
    found = {}
    for setup, m in measured.items():
        found[setup.name] = {
            "store": setup.store,
            "routers": setup.routers,
            "runs_per_s": round(m.result.rps, 2),
            "p50_ms": round(m.result.percentile(50) * 1000, 1),
            "p99_ms": round(m.result.percentile(99) * 1000, 1),
            "failed": m.result.count - m.result.ok,
            "ratio_to_one_router": round(m.result.rps / one, 2)
            if setup.store == "postgres" and one
            else None,
        }
    return found


def render(found: dict) -> str:
    rows = [
        [
            name,
            str(f["routers"]),
            f"{f['runs_per_s']:.1f}",
            f"{f['p50_ms']:.0f}",
            f"{f['p99_ms']:.0f}",
            str(f["failed"]),
            "" if f["ratio_to_one_router"] is None else f"{f['ratio_to_one_router']:.2f}x",
        ]
        for name, f in found.items()
    ]
    return report.table(HEADERS, rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale_out",
        description="Runs/s with 1, 2 and 4 routers on PostgreSQL (and 1 on SQLite), side by side.",
    )
    parser.add_argument("--quick", action="store_true", help="short rounds: a smoke run")
    parser.add_argument(
        "--concurrency",
        type=loadgen.positive_int,
        default=DEFAULT_CONCURRENCY,
        help=f"runs in flight per mesh (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--postgres",
        default="",
        help="the server to make schemas on (default $AIRSPACE_BENCH_POSTGRES_URL or "
        f"{DEFAULT_POSTGRES_URL})",
    )
    parser.add_argument(
        "--home",
        type=pathlib.Path,
        help="keep the meshes' data and logs here (default: a temp dir)",
    )
    parser.add_argument("--json", type=pathlib.Path, metavar="FILE", help="write the figures here")
    return parser.parse_args(argv)


def run(
    quick: bool,
    concurrency: int = DEFAULT_CONCURRENCY,
    postgres_url: str = "",
    home: pathlib.Path | None = None,
) -> dict:
    """Measures and prints the comparison; its figures, or {} with no PostgreSQL server."""
    postgres_url = server_url(postgres_url)
    problem = postgres_problem(postgres_url)
    if problem:
        print(f"scale-out benchmark skipped: {problem}")
        return {}
    timing = QUICK if quick else FULL
    print(
        f"Scale-out: durable three-step runs through the gateway, {concurrency} in flight per mesh"
    )
    with contextlib.ExitStack() as stack:
        home = home or pathlib.Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="airspace-scale-out-"))
        )
        measured = asyncio.run(measure(home, postgres_url, timing, concurrency))
    found = figures(measured)
    print(render(found))
    return found


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"Airspace scale-out benchmark on {report.machine()}")
    found = run(args.quick, args.concurrency, args.postgres, args.home)
    if args.json:
        args.json.write_text(json.dumps({"scale_out": found}, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 1 if any(f["failed"] for f in found.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
