"""`python -m bench` (`make bench`): the numbers the speed work is judged by, as ratios
measured side by side in one run.

Two real meshes run as processes at once, one exporting traces and one not, each with
three trivial agents and three branch agents of known duration; beside them run the bare
gRPC floor (bench/floor.py) and the in-process LangGraph baseline. Each measurement warms
up, then all take turns in short rounds. Reported, each against its target where
DESIGN.md sets one (bench/targets.py):
- the floor: runs/s and CPU per run of two unary hops and three Invoke streams;
- the mesh's CPU per three-step run (tracing ON) by process, from /proc, and over the floor's:
  runs streamed by ExecuteRun (the headline, 18 events each) and runs returned whole by the
  unary RunWorkflow (the floor's shape, informational), and over the floor's when the floor
  is paced to the mesh's runs/s after the rounds (bench/paced_floor.py, informational: a
  gRPC process pays per wake-up, and the floor flat out shares its wake-ups);
- internal calls and fsyncs per run, from the state, policy and tracing services' metrics;
- tracing cost (runs/s OFF / ON), a fan-out's latency over its slowest branch, Airspace
  runs/s over LangGraph + SqliteSaver's, and the gateway hop.
Then the parked section (bench/parked_runs.py): 10,000 runs held at a slow agent, the
router's memory per parked run and the router's and state's CPU while they wait, and
whether every one completes once the agent answers.
`--json FILE` writes every figure and verdict; `--check` exits 1 when a target is missed.
Then the edge benchmark (bench/edge.py: the gateway hop with and without TLS, one tenant's
latency while another floods), the scale-out benchmark (bench/scale_out.py: 1, 2 and 4
routers on PostgreSQL, 1 on SQLite) and the growth benchmarks of the state stores
(bench/durability_growth.py on SQLite, bench/postgres_growth.py on PostgreSQL: the hot
paths at 10k and at --growth-runs runs, 1M unless told) run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import importlib.util
import pathlib
import sys
import tempfile
import time

import grpc

from bench import (
    calls,
    counts,
    cpu,
    floor,
    loadgen,
    paced_floor,
    parked_runs,
    report,
    results,
    rounds,
    targets,
)
from bench.agents import FAN_OUT_WORKFLOW
from bench.mesh import BenchMesh, start_groups, stop_groups
from bench.meters import Meter

# Rounds of 2.1 s keep the whole run near 2.5 minutes with its eight loads.
FULL = rounds.Timing(warm_up=1.0, rounds=6, seconds=2.1)
QUICK = rounds.Timing(warm_up=0.3, rounds=2, seconds=1.0)
GROWTH_RUNS = 1_000_000
QUICK_GROWTH_RUNS = 10_000
QUICK_GROWTH_OPS = 50
DEFAULT_CONCURRENCY = 16


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
        "--skip-growth",
        action="store_true",
        help="do not run the growth benchmarks of the state stores (SQLite and PostgreSQL)",
    )
    parser.add_argument(
        "--growth-runs",
        type=loadgen.positive_int,
        help=f"runs in the larger store of the growth benchmarks (default {GROWTH_RUNS:,},"
        f" {QUICK_GROWTH_RUNS:,} with --quick); the smaller holds a tenth of it, 10,000 at most",
    )
    parser.add_argument(
        "--skip-parked",
        action="store_true",
        help=f"do not run the parked section ({parked_runs.FULL.runs} runs held at a slow agent)",
    )
    parser.add_argument(
        "--parked-runs",
        type=loadgen.positive_int,
        help=f"runs the parked section parks (default {parked_runs.FULL.runs}, "
        f"{parked_runs.QUICK.runs} with --quick)",
    )
    parser.add_argument(
        "--skip-edge",
        action="store_true",
        help="do not run the edge benchmark (the gateway hop with TLS, tenant fairness)",
    )
    parser.add_argument(
        "--skip-scale-out",
        action="store_true",
        help="do not run the scale-out benchmark (1, 2 and 4 routers on PostgreSQL)",
    )
    parser.add_argument(
        "--home",
        type=pathlib.Path,
        help="keep the meshes' data and logs here (default: a temp dir)",
    )
    parser.add_argument(
        "--json", type=pathlib.Path, metavar="FILE", help="write every figure and verdict here"
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when a target is missed, naming it"
    )
    return parser.parse_args(argv)


def skipped_sections(args: argparse.Namespace) -> tuple[str, ...]:
    """The sections with targets that this run leaves out, whose targets are not judged."""
    return (parked_runs.SECTION,) if args.skip_parked else ()


def langgraph_installed() -> bool:
    return importlib.util.find_spec("langgraph") is not None


@dataclasses.dataclass(frozen=True)
class Measurements:
    measured: dict[str, report.Measured]
    results: dict


async def measure(home: pathlib.Path, timing: rounds.Timing, concurrency: int) -> Measurements:
    """Both meshes, the floor and the baseline, side by side."""
    on = BenchMesh(home / "tracing-on", tracing=True)
    off = BenchMesh(home / "tracing-off", tracing=False)
    bare = floor.Floor(home / "floor")
    started = time.monotonic()
    start_groups([on, off, bare])
    print(
        f"started 2 meshes x {len(on.processes)} processes and the floor's "
        f"{len(bare.processes)} in {time.monotonic() - started:.1f} s"
    )
    # Read around the rounds of the loads they describe, and no others.
    mesh_cpu = Meter(cpu.reader(on.cpu_groups()))
    mesh_counts = Meter(counts.reader(on.metrics_urls()))
    floor_cpu = Meter(cpu.reader(bare.cpu_groups()))
    unary_cpu = Meter(cpu.reader(on.cpu_groups()))
    paced_cpu = Meter(cpu.reader(bare.cpu_groups()))
    try:
        async with contextlib.AsyncExitStack() as stack:
            on_gateway, off_gateway, router, floor_relay = [
                await stack.enter_async_context(grpc.aio.insecure_channel(address))
                for address in (on.gateway, off.gateway, on.router, bare.address)
            ]
            await on.install_workflow(on_gateway)
            await off.install_workflow(off_gateway)
            loads = {
                results.TRACING_ON: rounds.Load(
                    "three-step runs, tracing ON",
                    "runs",
                    concurrency,
                    calls.execute_three_step(on_gateway, on.gateway_metadata()),
                    # Scraping metrics costs CPU: counts are read outside the CPU's span.
                    meters=(mesh_counts, mesh_cpu),
                ),
                results.UNARY_RUNS: rounds.Load(
                    "three-step runs via RunWorkflow (unary), tracing ON",
                    "runs",
                    concurrency,
                    calls.run_three_step(on_gateway, on.gateway_metadata()),
                    meters=(unary_cpu,),
                ),
                results.TRACING_OFF: rounds.Load(
                    "three-step runs, tracing OFF",
                    "runs",
                    concurrency,
                    calls.execute_three_step(off_gateway, off.gateway_metadata()),
                ),
                results.FLOOR: rounds.Load(
                    "bare gRPC floor: 2 unary hops + 3 Invoke streams",
                    "runs",
                    concurrency,
                    floor.run(floor_relay),
                    meters=(floor_cpu,),
                ),
                results.GATEWAY_LIST: rounds.Load(
                    "ListRuns via gateway (tracing ON)",
                    "calls",
                    concurrency,
                    calls.list_runs(on_gateway, on.gateway_metadata()),
                ),
                results.FAN_OUT: rounds.Load(
                    "fan-out of 3 branches (0.1, 0.2, 0.4 s)",
                    "runs",
                    1,
                    calls.execute(on_gateway, on.gateway_metadata(), FAN_OUT_WORKFLOW),
                ),
                results.ROUTER_LIST: rounds.Load(
                    "ListRuns direct to router",
                    "calls",
                    concurrency,
                    calls.list_runs(router, on.router_metadata()),
                ),
            }
            if langgraph_installed():
                loads[results.LANGGRAPH] = langgraph_load(home, stack)
            print(f"measuring for about {timing.estimate(len(loads)):.0f} s ...")
            measured = dict(
                zip(loads, await rounds.take_turns(list(loads.values()), timing), strict=True)
            )
            # Then the floor at the rate the mesh kept, for as long as one load's rounds.
            mesh_rate = measured[results.TRACING_ON].result.rps
            print(f"the floor at the mesh's rate, {mesh_rate:.1f} runs/s ...")
            paced = await paced_floor.measured_at(
                floor.run(floor_relay), mesh_rate, timing.rounds * timing.seconds, paced_cpu
            )
            if paced.failed:
                print(f"  {paced.failed} runs of the paced floor failed: its figures are off")
    finally:
        stop_groups([on, off, bare])
    found = results.collect(
        measured,
        mesh_cpu=mesh_cpu,
        mesh_counts=mesh_counts,
        floor_cpu=floor_cpu,
        unary_cpu=unary_cpu,
        paced_floor=paced,
        paced_floor_cpu=paced_cpu,
    )
    return Measurements(measured, found)


def langgraph_load(home: pathlib.Path, stack: contextlib.AsyncExitStack) -> rounds.Load:
    from bench.baseline import ThreeStepGraph  # the optional `bench` extra

    graph = ThreeStepGraph(home / "langgraph.sqlite")
    stack.callback(graph.close)

    async def call() -> None:
        graph.run_once()  # in-process and synchronous: one run at a time

    return rounds.Load("LangGraph + SqliteSaver, in-process", "runs", 1, call)


def print_report(taken: Measurements, verdicts: list[targets.Verdict], *, concurrency: int) -> None:
    found, symbols = taken.results, sys.stdout.isatty()
    print()
    print("Every measurement")
    print(
        report.table(report.RESULT_HEADERS, [report.result_row(m) for m in taken.measured.values()])
    )
    for m in taken.measured.values():
        for error, count in m.result.errors.most_common(5):
            print(f"  {m.name}: [{count}] {error}")
    sections = (
        report.floor_section,
        report.mesh_section,
        report.mesh_unary_section,
        report.counts_section,
    )
    for render in sections:
        print()
        print(render(found, verdicts, symbols))
    print()
    print(report.ratios_section(found, verdicts, symbols, concurrency=concurrency))
    if parked_runs.SECTION in found:
        print()
        print(parked_runs.section(found, verdicts, symbols))
    print()
    met = sum(verdict.met for verdict in verdicts)
    print(f"targets met: {met} of {len(verdicts)}")
    for line in report.missed(verdicts):
        print(f"  missed: {line}")


def growth_sizes(quick: bool, runs: int | None) -> list[int]:
    """The two store sizes the growth benchmarks compare."""
    large = runs or (QUICK_GROWTH_RUNS if quick else GROWTH_RUNS)
    return [min(10_000, max(1, large // 10)), large]


def growth(args: argparse.Namespace) -> dict:
    """Both stores' growth figures, by their keys in the JSON."""
    from bench import durability_growth, postgres_growth
    from bench import growth as growth_section

    sizes = growth_sizes(args.quick, args.growth_runs)
    ops = QUICK_GROWTH_OPS if args.quick else growth_section.DEFAULT_OPS
    print()
    found = {"sqlite_growth": durability_growth.run(sizes, ops)}
    print()
    found["postgres_growth"] = postgres_growth.run(sizes, ops)
    return found


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    timing = QUICK if args.quick else FULL
    machine = report.machine()
    print(f"Airspace benchmarks on {machine}")
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
        taken = asyncio.run(measure(home, timing, args.concurrency))
        if not args.skip_parked:
            print()
            taken.results[parked_runs.SECTION] = parked_runs.run(
                args.quick, args.parked_runs, home / parked_runs.SECTION
            )
    verdicts = targets.judge(taken.results, skipped=skipped_sections(args))
    print_report(taken, verdicts, concurrency=args.concurrency)
    if not args.skip_edge:
        from bench import edge

        print()
        taken.results["edge"] = edge.run(args.quick)
    if not args.skip_scale_out:
        from bench import scale_out

        print()
        taken.results["scale_out"] = scale_out.run(args.quick)
    if not args.skip_growth:
        taken.results.update(growth(args))
    if args.json:
        context = {
            "machine": machine,
            "quick": args.quick,
            "concurrency": args.concurrency,
            "timing": dataclasses.asdict(timing),
        }
        results.write(args.json, results.document(taken.results, verdicts, context))
        print(f"wrote {args.json}")
    failed = failures(taken)
    if failed and not args.home:
        print("some calls failed; run again with --home DIR to keep the meshes' logs")
    return exit_status(failed, verdicts, check=args.check)


def failures(taken: Measurements) -> int:
    """Calls that failed, and parked runs that did not complete."""
    parked = taken.results.get(parked_runs.SECTION, {})
    return sum(m.failed for m in taken.measured.values()) + parked.get("runs_not_completed", 0)


def exit_status(failed: int, verdicts: list[targets.Verdict], *, check: bool) -> int:
    """1 when something failed, or (with --check) a target judged was missed."""
    missed_target = check and not all(verdict.met for verdict in verdicts)
    return 1 if failed or missed_target else 0


if __name__ == "__main__":
    sys.exit(main())
