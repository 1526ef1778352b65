"""Parked runs: N runs held at an agent until it is released, what they cost the router and
the state service while they wait, and whether every one completes once the agent answers.

One mesh (tracing on) with the parked agent (bench/agents.py). A warm-up batch parks and
completes first, so the router's one-time costs (imports, channels, caches) are behind
it. Then, with no run, the router's resident memory and the CPU the router and the state
service spend over a window, from /proc, with the state's durable commits. N runs are
started; once every one is parked — at the agent, waiting for one of its call slots
(agent_admission.py), or queued for a place to execute (run_admission.py) — the same
readings again. Then the agent answers and every run must complete. Reported, each
against its target (bench/targets.py):
- kb_per_parked_run: the router's resident memory growth over the runs parked;
- idle_cpu_percent: router plus state CPU while they wait, in % of one core;
- runs_not_completed: runs that did not complete once the agent answered.

    python -m bench.parked_runs [--quick] [--runs N] [--home DIR] [--json FILE]

Run by `make bench` (python -m bench) as its parked section (--skip-parked leaves it out).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import pathlib
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

import grpc
from prometheus_client.parser import text_string_to_metric_families

from airspace.v1 import run_pb2, run_pb2_grpc
from bench import counts, cpu, loadgen, report, results, targets
from bench.agents import PARKED_AGENT, PARKED_SOURCE, PARKED_WORKFLOW, RELEASE_FILE
from bench.mesh import BenchMesh
from bench.meters import Meter
from bench.targets import Verdict

SECTION = "parked"
MEASURED = ("router", "state")
STATE_COMMITS = (counts.FSYNCS, "state_store")
ADMITTED = "airspace_router_runs_admitted"  # by status: running, queued
ACTIVE_STATES = (run_pb2.RUN_STATE_QUEUED, run_pb2.RUN_STATE_RUNNING)
PAGE_SIZE, LIST_TIMEOUT = 1000, 30.0
# Calls at the agent, and those waiting for one of its slots.
AT_AGENT = ("airspace_router_agent_calls_in_flight", "airspace_router_agent_calls_queued")
# StartRun calls in flight while the runs are started, and runs started before all of
# them are waited for until parked.
START_CONCURRENCY, START_BATCH = 32, 100
START_TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 1.0
# After the last run parked: its writes, and recovery passes that lease the queued runs
# (executor.py: runs nobody leased are claimed after a lease's time), are over.
SETTLE_SECONDS = 12.0
# How long parking or completing may take, per run and in all, before giving up.
SECONDS_PER_RUN, SECONDS_AT_LEAST = 0.1, 120.0


@dataclasses.dataclass(frozen=True)
class Scale:
    runs: int
    seconds: float  # each CPU window
    warm_up: int  # runs parked and completed before anything is read


FULL = Scale(runs=10_000, seconds=20.0, warm_up=100)
QUICK = Scale(runs=50, seconds=2.0, warm_up=10)


class Stalled(Exception):
    """The runs did not get where they were waited for in time."""


class ParkedMesh:
    """A mesh whose one workflow calls the parked agent: its runs as the state has them,
    and what its router holds."""

    def __init__(self, home: pathlib.Path):
        self.release_file = home / "release-parked-agent"
        self.mesh = BenchMesh(
            home,
            tracing=True,
            agents=(PARKED_AGENT,),
            workflows=(PARKED_SOURCE,),
            env={RELEASE_FILE: str(self.release_file)},
        )
        self.metadata = self.mesh.gateway_metadata()

    async def count(self, runs: run_pb2_grpc.RunServiceStub, state: run_pb2.RunState) -> int:
        """Runs of the parked workflow in `state`, as the state service has them."""
        counted, token = 0, ""
        while True:
            request = run_pb2.ListRunsRequest(
                workflow=PARKED_WORKFLOW, state=state, page_size=PAGE_SIZE, page_token=token
            )
            page = await runs.ListRuns(request, metadata=self.metadata, timeout=LIST_TIMEOUT)
            counted += len(page.runs)
            token = page.next_page_token
            if not token:
                return counted

    async def active(self, runs: run_pb2_grpc.RunServiceStub) -> int:
        return sum([await self.count(runs, state) for state in ACTIVE_STATES])

    def held(self) -> tuple[float, float]:
        """(runs the router holds, of those it executes the ones not waiting at the agent)."""
        samples = self._router_samples()
        admitted = {labels["status"]: value for name, labels, value in samples if name == ADMITTED}
        running = admitted.get("running", 0.0)
        at_agent = sum(value for name, _, value in samples if name in AT_AGENT)
        return running + admitted.get("queued", 0.0), running - at_agent

    def _router_samples(self) -> list[tuple[str, dict[str, str], float]]:
        exposition = counts.scrape(self.mesh.metrics_url("router"))
        return [
            (sample.name, sample.labels, sample.value)
            for family in text_string_to_metric_families(exposition)
            for sample in family.samples
        ]

    async def parked(self, runs: run_pb2_grpc.RunServiceStub) -> bool:
        """Whether every unfinished run is parked: held by the router (none left for
        recovery) and, when it executes, waiting at the agent."""
        held, elsewhere = await asyncio.to_thread(self.held)
        return not elsewhere and held == await self.active(runs)

    async def finished(self, runs: run_pb2_grpc.RunServiceStub) -> bool:
        return not await self.active(runs)

    def release_agent(self, released: bool) -> None:
        """Lets the agent answer every call (released), or hold them."""
        if released:
            self.release_file.touch()
        else:
            self.release_file.unlink(missing_ok=True)


async def until(done: Callable[[], Awaitable[bool]], runs: int, what: str) -> float:
    """Waits until `done()`; the seconds it took (Stalled past the time `runs` may take)."""
    began = time.monotonic()
    limit = max(SECONDS_AT_LEAST, runs * SECONDS_PER_RUN)
    while not await done():
        if time.monotonic() - began > limit:
            raise Stalled(f"{what}: not done within {limit:.0f} s")
        await asyncio.sleep(POLL_SECONDS)
    return time.monotonic() - began


async def park(parked: ParkedMesh, channel: grpc.aio.Channel, runs: int) -> loadgen.LoadResult:
    """Starts `runs` runs of the parked workflow, a batch at a time, each batch waited for
    until every run is parked: the first runs' start-up (claims, policy checks, the first
    appends) all at once would measure a surge, not what parked runs cost."""
    method = loadgen.find_method("airspace.v1.RunService/StartRun")
    request = run_pb2.StartRunRequest(workflow=PARKED_WORKFLOW)
    call = loadgen.caller(
        channel, method, request, metadata=parked.metadata, timeout=START_TIMEOUT_SECONDS
    )
    stub = run_pb2_grpc.RunServiceStub(channel)
    started: loadgen.LoadResult | None = None
    for first in range(0, runs, START_BATCH):
        size = min(START_BATCH, runs - first)
        batch = await loadgen.drive(call, min(START_CONCURRENCY, size), total=size)
        started = batch if started is None else started.merged(batch)
        await until(functools.partial(parked.parked, stub), size, "parking the runs")
    assert started is not None  # runs >= 1
    return started


async def release(parked: ParkedMesh, channel: grpc.aio.Channel, runs: int) -> float:
    """Releases the agent's calls; the seconds until no run is left unfinished."""
    parked.release_agent(True)
    stub = run_pb2_grpc.RunServiceStub(channel)
    return await until(functools.partial(parked.finished, stub), runs, "completing the runs")


async def window(parked: ParkedMesh, seconds: float) -> dict:
    """Per second over the window: CPU of the router and the state service (in % of one
    core) and state commits; the router's resident memory at its end."""
    mesh = parked.mesh
    used = Meter(cpu.reader({name: [mesh.pid(name)] for name in MEASURED}))
    commits = Meter(counts.reader([mesh.metrics_url("state")]))
    commits.start()  # scraping costs the state CPU: outside the CPU's span
    used.start()
    began = time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - began
    used.stop()
    commits.stop()
    return {
        "cpu_percent_by_process": {name: 100 * used.moved[name] / elapsed for name in MEASURED},
        "state_commits_per_s": commits.moved.get(STATE_COMMITS, 0.0) / elapsed,
        "router_rss_kb": cpu.resident_kb(mesh.pid("router")),
    }


async def measure(home: pathlib.Path, scale: Scale) -> dict:
    parked = ParkedMesh(home)
    parked.mesh.start()
    try:
        async with grpc.aio.insecure_channel(parked.mesh.gateway) as channel:
            stub = run_pb2_grpc.RunServiceStub(channel)
            await parked.mesh.install_workflow(channel)
            await park(parked, channel, scale.warm_up)
            await release(parked, channel, scale.warm_up)
            parked.release_agent(False)
            completed_before = await parked.count(stub, run_pb2.RUN_STATE_COMPLETED)
            no_run = await window(parked, scale.seconds)
            began = time.monotonic()
            started = await park(parked, channel, scale.runs)
            park_seconds = time.monotonic() - began
            await asyncio.sleep(SETTLE_SECONDS)
            waiting = await window(parked, scale.seconds)
            complete_seconds = await release(parked, channel, scale.runs)
            completed = await parked.count(stub, run_pb2.RUN_STATE_COMPLETED) - completed_before
    finally:
        parked.mesh.stop()
    for error, count in started.errors.most_common(3):
        print(f"  StartRun: [{count}] {error}")
    return figures(
        scale.runs,
        no_run,
        waiting,
        completed=completed,
        start_failures=started.count - started.ok,
        park_seconds=park_seconds,
        complete_seconds=complete_seconds,
    )


def figures(
    runs: int,
    no_run: Mapping,
    waiting: Mapping,
    *,
    completed: int,
    start_failures: int,
    park_seconds: float,
    complete_seconds: float,
) -> dict:
    """The section's figures from its two windows (see window()) and how the runs ended."""
    grown_kb = waiting["router_rss_kb"] - no_run["router_rss_kb"]
    return {
        "runs": runs,
        "completed": completed,
        "runs_not_completed": runs - completed,
        "start_failures": start_failures,
        "kb_per_parked_run": grown_kb / runs,
        "router_rss_kb_no_run": no_run["router_rss_kb"],
        "router_rss_kb_parked": waiting["router_rss_kb"],
        "idle_cpu_percent": sum(waiting["cpu_percent_by_process"].values()),
        "idle_cpu_percent_by_process": dict(waiting["cpu_percent_by_process"]),
        "no_run_cpu_percent": sum(no_run["cpu_percent_by_process"].values()),
        "no_run_cpu_percent_by_process": dict(no_run["cpu_percent_by_process"]),
        "state_commits_per_s": waiting["state_commits_per_s"],
        "no_run_state_commits_per_s": no_run["state_commits_per_s"],
        "park_seconds": park_seconds,
        "complete_seconds": complete_seconds,
    }


def section(measured: Mapping, verdicts: Sequence[Verdict], symbols: bool) -> str:
    """The parked section of the report, each figure with its target."""
    found = measured[SECTION]
    title = f"Parked runs: {found['runs']} runs held at an agent, then released"
    if "stalled" in found:
        return f"{title}: stalled ({found['stalled']})"
    by_process = found["idle_cpu_percent_by_process"]
    no_run = found["no_run_cpu_percent_by_process"]
    rows = [
        report.Row(
            "router memory per parked run, KB",
            found["kb_per_parked_run"],
            f"{SECTION}.kb_per_parked_run",
            note=f"{found['router_rss_kb_no_run'] / 1024:.0f} MB with no run, "
            f"{found['router_rss_kb_parked'] / 1024:.0f} MB parked",
        ),
        report.Row(
            "router + state CPU while parked, % of a core",
            found["idle_cpu_percent"],
            f"{SECTION}.idle_cpu_percent",
            note=f"{found['no_run_cpu_percent']:.2f} with no run",
        ),
        *(
            report.Row(f"  {name}", value, note=f"{no_run[name]:.2f} with no run")
            for name, value in by_process.items()
        ),
        report.Row(
            "state commits per second while parked",
            found["state_commits_per_s"],
            note=f"{found['no_run_state_commits_per_s']:.2f} with no run",
        ),
        report.Row(
            "runs not completed once the agent answered",
            found["runs_not_completed"],
            f"{SECTION}.runs_not_completed",
            note=f"{found['start_failures']} not started",
        ),
        report.Row("seconds to start and park them", found["park_seconds"]),
        report.Row("seconds until all completed", found["complete_seconds"]),
    ]
    return report.section(title, rows, verdicts, symbols)


def run(quick: bool, runs: int | None = None, home: pathlib.Path | None = None) -> dict:
    """Measures the section (QUICK or FULL, with `runs` instead of its count); its figures."""
    scale = QUICK if quick else FULL
    if runs is not None:
        scale = dataclasses.replace(scale, runs=runs)
    print(
        f"Parked runs: starting {scale.runs} runs at an agent that holds them "
        f"(after {scale.warm_up} to warm up), {scale.seconds:g} s windows ..."
    )
    began = time.monotonic()
    with contextlib.ExitStack() as stack:
        home = home or pathlib.Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="airspace-parked-"))
        )
        try:
            found = asyncio.run(measure(home, scale))
        except Stalled as exc:  # the figures are not measured; no run counts as completed
            print(f"parked runs stalled: {exc}")
            found = {"runs": scale.runs, "runs_not_completed": scale.runs, "stalled": str(exc)}
    found["seconds"] = time.monotonic() - began
    print(f"parked section took {found['seconds']:.0f} s")
    return found


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.parked_runs",
        description="What runs parked at a slow agent cost the router and the state service.",
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK.runs} runs: a smoke run")
    parser.add_argument(
        "--runs", type=loadgen.positive_int, help=f"runs to park (default {FULL.runs})"
    )
    parser.add_argument("--home", type=pathlib.Path, help="keep the mesh's data and logs here")
    parser.add_argument("--json", type=pathlib.Path, metavar="FILE", help="write the figures here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"Airspace parked runs benchmark on {report.machine()}")
    found = {SECTION: run(args.quick, args.runs, args.home)}
    verdicts = [verdict for verdict in targets.judge(found) if verdict.target.section == SECTION]
    print(section(found, verdicts, sys.stdout.isatty()))
    for line in report.missed(verdicts):
        print(f"  missed: {line}")
    if args.json:
        results.write(args.json, found)
        print(f"wrote {args.json}")
    return 1 if found[SECTION]["runs_not_completed"] else 0


if __name__ == "__main__":
    sys.exit(main())
