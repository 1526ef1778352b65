"""Edge benchmark: what the gateway hop costs, with TLS and without, and whether one tenant
flooding the mesh can slow another one down.

Two meshes run at once: one in plaintext, whose tenant `flooder` may make 3 calls per
second (burst 10), and one with TLS on every hop (`airspace up --tls`'s certificates).

- The hop: ListRuns calls/s direct to the router and through each gateway, in turns.
- Fairness: tenant `steady` runs three-step runs alone, then again while `flooder` sends
  ten times its rate of runs (paced, open loop); `steady`'s p50 and p99 with the flood over
  alone are the ratios (target about 2 or less). The flooder's refused calls are counted.
- Shedding: three-step runs (ExecuteRun streams) from eight times as many callers as the
  gateway lets in flight (its limit of streams lowered to SHED_LIMIT); calls shed, and the
  gateway's resident memory before and after, from /proc.

    python -m bench.edge [--quick] [--json FILE]

Run by `make bench` (python -m bench), not by tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import pathlib
import sys
import tempfile
import time

import grpc

from airspace.cli import local_ca
from bench import calls, loadgen, report, rounds
from bench.cpu import resident_kb
from bench.mesh import BenchMesh, start_groups, stop_groups

FLOODER_RATE = 3.0  # the flooder's quota, calls per second
# Enough for the flooder to register the bench agents and workflows before it floods.
FLOODER_BURST = 10
FLOOD_FACTOR = 10  # how far over it the flooder pushes
QUOTAS = f"""
tenants:
  flooder: {{requests_per_second: {FLOODER_RATE:g}, burst: {FLOODER_BURST}}}
"""
STEADY_CONCURRENCY = 2
SHED_LIMIT = 32  # the plaintext mesh's gateway: streams in flight
SHED_CALLERS = 8 * SHED_LIMIT
SHED_CHANNELS = 16
HOP_CONCURRENCY = 16
FULL = rounds.Timing(warm_up=1.0, rounds=4, seconds=2.5)
QUICK = rounds.Timing(warm_up=0.3, rounds=1, seconds=1.0)
FAIRNESS_SECONDS = {False: 8.0, True: 2.0}  # by --quick


def paced(call: loadgen.Call, rate: float) -> loadgen.Call:
    """`call` started at `rate` per second however long each takes (an open loop), as a
    client that ignores refusals would flood."""
    next_start = time.monotonic()

    async def flood() -> None:
        nonlocal next_start
        now = time.monotonic()
        next_start = max(next_start + 1 / rate, now)
        await asyncio.sleep(next_start - now)
        await call()

    return flood


async def hop(plain: BenchMesh, tls: BenchMesh, timing: rounds.Timing) -> dict:
    """ListRuns calls/s direct to the router, via the plaintext gateway and via TLS."""
    roots = pathlib.Path(tls.credentials["tls_ca_file"]).read_bytes()
    async with (
        grpc.aio.insecure_channel(plain.router) as router,
        grpc.aio.insecure_channel(plain.gateway) as gateway,
        grpc.aio.secure_channel(tls.gateway, grpc.ssl_channel_credentials(roots)) as secure,
    ):
        loads = [
            rounds.Load(
                "ListRuns direct to router",
                "calls",
                HOP_CONCURRENCY,
                calls.list_runs(router, plain.router_metadata()),
            ),
            rounds.Load(
                "ListRuns via gateway",
                "calls",
                HOP_CONCURRENCY,
                calls.list_runs(gateway, plain.gateway_metadata()),
            ),
            rounds.Load(
                "ListRuns via gateway, TLS",
                "calls",
                HOP_CONCURRENCY,
                calls.list_runs(secure, tls.gateway_metadata()),
            ),
        ]
        direct, via, via_tls = await rounds.take_turns(loads, timing)
    return {
        "direct_calls_per_s": direct.result.rps,
        "gateway_calls_per_s": via.result.rps,
        "gateway_tls_calls_per_s": via_tls.result.rps,
        "gateway_over_direct": via.result.rps / direct.result.rps if direct.result.rps else 0.0,
        "tls_over_plaintext": via_tls.result.rps / via.result.rps if via.result.rps else 0.0,
    }


async def fairness(mesh: BenchMesh, seconds: float) -> dict:
    """The steady tenant's latency alone and under the flooder's flood, as ratios."""
    async with grpc.aio.insecure_channel(mesh.gateway) as channel:
        steady_key, flooder_key = mesh.gateway_metadata("steady"), mesh.gateway_metadata("flooder")
        for metadata in (steady_key, flooder_key):
            await mesh.install_workflow(channel, metadata)
        steady = calls.execute_three_step(channel, steady_key)
        flood = paced(calls.execute_three_step(channel, flooder_key), FLOODER_RATE * FLOOD_FACTOR)
        await loadgen.drive(steady, STEADY_CONCURRENCY, duration=min(1.0, seconds))  # warm up
        alone = await loadgen.drive(steady, STEADY_CONCURRENCY, duration=seconds)
        flooded, flooder = await asyncio.gather(
            loadgen.drive(steady, STEADY_CONCURRENCY, duration=seconds),
            loadgen.drive(flood, 64, duration=seconds),
        )
    return {
        "steady_alone_p50_ms": alone.percentile(50) * 1000,
        "steady_alone_p99_ms": alone.percentile(99) * 1000,
        "steady_flooded_p50_ms": flooded.percentile(50) * 1000,
        "steady_flooded_p99_ms": flooded.percentile(99) * 1000,
        "p50_ratio": _ratio(flooded.percentile(50), alone.percentile(50)),
        "p99_ratio": _ratio(flooded.percentile(99), alone.percentile(99)),
        "steady_failed": (alone.count - alone.ok) + (flooded.count - flooded.ok),
        "flooder_sent": flooder.count,
        "flooder_refused": flooder.statuses["RESOURCE_EXHAUSTED"],
        "flooder_completed": flooder.ok,
    }


async def shedding(mesh: BenchMesh, seconds: float) -> dict:
    """Calls shed by the gateway when far more arrive than it lets in flight, and what
    its memory did meanwhile."""
    gateway = mesh.pid("gateway")
    before = resident_kb(gateway)
    # Callers on channels of their own, as many clients would be: one channel's HTTP/2
    # connection would cap the streams it opens at once.
    async with contextlib.AsyncExitStack() as stack:
        starts = []
        for _ in range(SHED_CHANNELS):
            channel = await stack.enter_async_context(grpc.aio.insecure_channel(mesh.gateway))
            starts.append(calls.execute_three_step(channel, mesh.gateway_metadata()))
        turn = iter(range(1 << 62))

        async def call() -> None:
            await starts[next(turn) % SHED_CHANNELS]()

        flood = await loadgen.drive(call, SHED_CALLERS, duration=seconds)
    return {
        "callers": SHED_CALLERS,
        "limit": SHED_LIMIT,
        "calls": flood.count,
        "shed": flood.statuses["RESOURCE_EXHAUSTED"],
        "other_failures": flood.count - flood.ok - flood.statuses["RESOURCE_EXHAUSTED"],
        "gateway_rss_kb_before": before,
        "gateway_rss_kb_after": resident_kb(gateway),
    }


def _ratio(value: float, base: float) -> float:
    return value / base if base else 0.0


async def measure(home: pathlib.Path, quick: bool) -> dict:
    quotas_file = home / "quotas.yaml"
    home.mkdir(parents=True, exist_ok=True)
    quotas_file.write_text(QUOTAS)
    plain = BenchMesh(
        home / "plain",
        tracing=True,
        env={
            "AIRSPACE_QUOTAS_FILE": str(quotas_file),
            "AIRSPACE_GATEWAY_MAX_STREAMS_IN_FLIGHT": str(SHED_LIMIT),
        },
    )
    certificates = local_ca.ensure(home / "tls-mesh" / "tls")
    secure = BenchMesh(home / "tls-mesh", tracing=True, certificates=certificates)
    start_groups([plain, secure])
    try:
        async with grpc.aio.insecure_channel(plain.gateway) as channel:
            await plain.install_workflow(channel)
        found = {"hop": await hop(plain, secure, QUICK if quick else FULL)}
        found["fairness"] = await fairness(plain, FAIRNESS_SECONDS[quick])
        found["shedding"] = await shedding(plain, FAIRNESS_SECONDS[quick])
    finally:
        stop_groups([plain, secure])
    return found


def render(found: dict) -> str:
    hop_, fair, shed = found["hop"], found["fairness"], found["shedding"]
    hop_rows = [
        ["direct to router", f"{hop_['direct_calls_per_s']:.0f}", "1.00"],
        ["via gateway", f"{hop_['gateway_calls_per_s']:.0f}", f"{hop_['gateway_over_direct']:.2f}"],
        [
            "via gateway, TLS",
            f"{hop_['gateway_tls_calls_per_s']:.0f}",
            f"{_ratio(hop_['gateway_tls_calls_per_s'], hop_['direct_calls_per_s']):.2f}",
        ],
    ]
    fair_rows = [
        [
            "alone",
            f"{fair['steady_alone_p50_ms']:.0f}",
            f"{fair['steady_alone_p99_ms']:.0f}",
        ],
        [
            f"flooder at {FLOOD_FACTOR}x its rate",
            f"{fair['steady_flooded_p50_ms']:.0f}",
            f"{fair['steady_flooded_p99_ms']:.0f}",
        ],
        ["ratio", f"{fair['p50_ratio']:.2f}", f"{fair['p99_ratio']:.2f}"],
    ]
    return "\n".join(
        [
            "The gateway hop: ListRuns calls/s",
            report.table(["path", "calls/s", "vs direct"], hop_rows),
            "",
            f"Fairness: tenant steady's three-step runs ({STEADY_CONCURRENCY} in flight)",
            report.table(["steady", "p50 ms", "p99 ms"], fair_rows),
            f"flooder sent {fair['flooder_sent']} runs: {fair['flooder_refused']} refused "
            f"(RESOURCE_EXHAUSTED), {fair['flooder_completed']} completed; steady failed "
            f"{fair['steady_failed']}",
            "",
            f"Shedding: {shed['callers']} callers of three-step runs, the gateway letting "
            f"{shed['limit']} in flight: {shed['calls']} calls, {shed['shed']} shed "
            f"(RESOURCE_EXHAUSTED with RetryInfo), {shed['other_failures']} other failures; "
            f"gateway memory {shed['gateway_rss_kb_before'] / 1024:.0f} MB before, "
            f"{shed['gateway_rss_kb_after'] / 1024:.0f} MB after",
        ]
    )


def run(quick: bool, home: pathlib.Path | None = None) -> dict:
    """Measures and prints both sections; their figures."""
    with contextlib.ExitStack() as stack:
        home = home or pathlib.Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="airspace-edge-"))
        )
        found = asyncio.run(measure(home, quick))
    print(render(found))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.edge", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="short rounds: a smoke run")
    parser.add_argument("--home", type=pathlib.Path, help="keep the meshes' data and logs here")
    parser.add_argument("--json", type=pathlib.Path, metavar="FILE", help="write the figures here")
    args = parser.parse_args(argv)
    print(f"Airspace edge benchmark on {report.machine()}")
    found = run(args.quick, args.home)
    if args.json:
        args.json.write_text(json.dumps({"edge": found}, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 1 if found["fairness"]["steady_failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
