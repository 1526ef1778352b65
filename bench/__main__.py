"""`python -m bench` (`make bench`): the numbers that matter, as ratios measured side by side.

Two real meshes run as processes at once, one exporting traces and one not, each with
three trivial agents and three branch agents of known duration, and the in-process LangGraph baseline runs beside them. Each
measurement warms up, then all take turns in short rounds. The ratios:
- tracing cost: three-step runs/s through the gateway with tracing OFF / ON (<= 1.15);
- a concurrent fan-out's median latency / its slowest branch (<= 1.25; the sum would be 1.75);
- Airspace three-step runs/s / LangGraph + SqliteSaver runs/s on this machine (>= 1);
- the gateway hop: ListRuns/s straight to the router / through the gateway.
Then the durability growth benchmark (bench/durability_growth.py) runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import pathlib
import sys
import tempfile
import time

import grpc

from bench import calls, loadgen, report, rounds
from bench.agents import BRANCH_AGENTS, FAN_OUT_WORKFLOW
from bench.mesh import BenchMesh, start_all_meshes, stop_all_meshes

FULL = rounds.Timing(warm_up=1.0, rounds=6, seconds=2.5)
QUICK = rounds.Timing(warm_up=0.5, rounds=2, seconds=1.5)
QUICK_GROWTH = ["--sizes", "1000,10000", "--ops", "50"]
DEFAULT_CONCURRENCY = 16
# Targets from DESIGN.md "Numbers that matter": tracing costs at most 15%, and the mesh
# beats an in-process framework with durable checkpoints.
TRACING_COST_AT_MOST = 1.15
# A fan-out costs about its slowest branch plus the mesh's own work.
FAN_OUT_AT_MOST = 1.25
BASELINE_AT_LEAST = 1.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure the mesh: ratios taken side by side in one run.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="short rounds: a smoke run, not numbers to quote"
    )
    parser.add_argument(
        "--concurrency",
        type=loadgen.positive_int,
        default=DEFAULT_CONCURRENCY,
        help=f"runs and calls in flight per mesh measurement (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--skip-growth", action="store_true", help="do not run the durability growth benchmark"
    )
    parser.add_argument(
        "--home",
        type=pathlib.Path,
        help="keep the meshes' data and logs here (default: a temp dir)",
    )
    return parser.parse_args(argv)


def langgraph_installed() -> bool:
    return importlib.util.find_spec("langgraph") is not None


async def measure(
    home: pathlib.Path, timing: rounds.Timing, concurrency: int
) -> tuple[list[report.Measured], list[report.AnyRatio]]:
    """Both meshes and the baseline, side by side."""
    on = BenchMesh(home / "tracing-on", tracing=True)
    off = BenchMesh(home / "tracing-off", tracing=False)
    started = time.monotonic()
    start_all_meshes([on, off])
    print(f"started 2 meshes x {len(on.processes)} processes in {time.monotonic() - started:.1f} s")
    try:
        async with contextlib.AsyncExitStack() as stack:
            on_gateway, off_gateway, router = [
                await stack.enter_async_context(grpc.aio.insecure_channel(address))
                for address in (on.gateway, off.gateway, on.router)
            ]
            await on.install_workflow(on_gateway)
            await off.install_workflow(off_gateway)
            loads = {
                "on": rounds.Load(
                    "three-step runs, tracing ON",
                    "runs",
                    concurrency,
                    calls.execute_three_step(on_gateway, on.gateway_metadata()),
                ),
                "off": rounds.Load(
                    "three-step runs, tracing OFF",
                    "runs",
                    concurrency,
                    calls.execute_three_step(off_gateway, off.gateway_metadata()),
                ),
                "gateway": rounds.Load(
                    "ListRuns via gateway (tracing ON)",
                    "calls",
                    concurrency,
                    calls.list_runs(on_gateway, on.gateway_metadata()),
                ),
                "fan-out": rounds.Load(
                    "fan-out of 3 branches (0.1, 0.2, 0.4 s)",
                    "runs",
                    1,
                    calls.execute(on_gateway, on.gateway_metadata(), FAN_OUT_WORKFLOW),
                ),
                "router": rounds.Load(
                    "ListRuns direct to router",
                    "calls",
                    concurrency,
                    calls.list_runs(router, on.router_metadata()),
                ),
            }
            if langgraph_installed():
                loads["langgraph"] = langgraph_load(home, stack)
            print(f"measuring for about {timing.estimate(len(loads)):.0f} s ...")
            measured = await rounds.take_turns(list(loads.values()), timing)
    finally:
        stop_all_meshes([on, off])
    return measured, ratios(dict(zip(loads, measured, strict=True)))


def langgraph_load(home: pathlib.Path, stack: contextlib.AsyncExitStack) -> rounds.Load:
    from bench.baseline import ThreeStepGraph  # the optional `bench` extra

    graph = ThreeStepGraph(home / "langgraph.sqlite")
    stack.callback(graph.close)

    async def call() -> None:
        graph.run_once()  # in-process and synchronous: one run at a time

    return rounds.Load("LangGraph + SqliteSaver, in-process", "runs", 1, call)


def ratios(measured: dict[str, report.Measured]) -> list[report.AnyRatio]:
    on, gateway, router = measured["on"], measured["gateway"], measured["router"]
    hop_ms = (gateway.result.percentile(50) - router.result.percentile(50)) * 1000
    slowest, total = max(BRANCH_AGENTS.values()), sum(BRANCH_AGENTS.values())
    found: list[report.AnyRatio] = [
        report.Ratio(
            "tracing cost: runs/s OFF / ON", measured["off"], on, at_most=TRACING_COST_AT_MOST
        ),
        report.LatencyRatio(
            "fan-out latency / slowest branch",
            measured["fan-out"],
            slowest,
            at_most=FAN_OUT_AT_MOST,
            note=f"branches one after another would take {total / slowest:.2f}x",
        ),
    ]
    if "langgraph" in measured:
        found.append(
            report.Ratio(
                "Airspace (tracing ON) / LangGraph runs/s",
                on,
                measured["langgraph"],
                at_least=BASELINE_AT_LEAST,
                note=f"Airspace {on.concurrency} runs in flight, LangGraph one at a time",
            )
        )
    found.append(
        report.Ratio(
            "gateway hop: ListRuns/s router / gateway",
            router,
            gateway,
            note=f"the gateway adds {hop_ms:.2f} ms at p50",
        )
    )
    return found


def print_results(measured: list[report.Measured], found: list[report.AnyRatio]) -> None:
    print()
    print(report.table(report.RESULT_HEADERS, [report.result_row(m) for m in measured]))
    print()
    print(
        report.table(
            report.RATIO_HEADERS,
            [report.ratio_row(r) for r in found],
            left=report.RATIO_TEXT_COLUMNS,
        )
    )
    for m in measured:
        for error, count in m.result.errors.most_common(5):
            print(f"  {m.name}: [{count}] {error}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    timing = QUICK if args.quick else FULL
    print(f"Airspace benchmarks on {report.machine()}")
    print(
        f"each measurement: {timing.warm_up:g} s warm-up, then {timing.rounds} rounds of "
        f"{timing.seconds:g} s taken in turns{' (--quick)' if args.quick else ''}"
    )
    if not langgraph_installed():
        print("LangGraph baseline skipped: install the bench extra (pip install -e '.[bench]')")
    with contextlib.ExitStack() as stack:
        home = args.home or pathlib.Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="airspace-bench-"))
        )
        measured, found = asyncio.run(measure(home, timing, args.concurrency))
    print_results(measured, found)
    failed = sum(m.failed for m in measured)
    if failed and not args.home:
        print("some calls failed; run again with --home DIR to keep the meshes' logs")
    if not args.skip_growth:
        from bench import durability_growth

        durability_growth.main(QUICK_GROWTH if args.quick else None)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
