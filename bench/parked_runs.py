"""What parked runs cost while they wait: N runs held at an agent that answers after an
hour, and what the router and the state service spend meanwhile — CPU from /proc, and
the state's durable commits per second (airspace_state_commits_total) — next to the
same mesh with no run at all.

    python -m bench.parked_runs [--runs 500] [--seconds 20]

Run by hand; neither `make bench` nor the tests run it.
"""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import tempfile
import time
import urllib.request

import grpc
from prometheus_client.parser import text_string_to_metric_families

from airspace.cli import local_mesh
from airspace.cli.processes import ManagedProcess, free_port, stop_all
from airspace.v1 import (
    agent_registry_pb2,
    agent_registry_pb2_grpc,
    run_pb2,
    run_pb2_grpc,
    workflow_pb2,
    workflow_pb2_grpc,
)
from bench.agents import PARKED_AGENT
from bench.cpu import cpu_seconds
from bench.mesh import bench_module_env, start_in_order

WORKFLOW = "parked"
WORKFLOW_SOURCE = f"""
name: {WORKFLOW}
description: One step at an agent that answers after an hour.
pattern: sequential
timeout: 2h
steps:
  - {{name: wait, agent: {PARKED_AGENT}, timeout: 1h}}
"""
MEASURED = ("router", "state")


def commits(state: ManagedProcess) -> float:
    text = urllib.request.urlopen(local_mesh.metrics_url(state), timeout=10).read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "airspace_state_commits"
        for sample in family.samples
        if sample.name == "airspace_state_commits_total"
    )


async def window(processes: dict[str, ManagedProcess], seconds: float) -> dict[str, float]:
    """Per second over the window: CPU (cores) of each measured process, state commits."""
    cpu = {name: cpu_seconds(processes[name].pid) for name in MEASURED}
    committed, began = commits(processes["state"]), time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - began
    figures = {
        f"{name} CPU (% of a core)": 100 * (cpu_seconds(processes[name].pid) - cpu[name]) / elapsed
        for name in MEASURED
    }
    figures["state commits/s"] = (commits(processes["state"]) - committed) / elapsed
    return figures


async def park(channel: grpc.aio.Channel, metadata, runs: int) -> None:
    """Starts `runs` runs and waits until every one is RUNNING at the agent."""
    stub = run_pb2_grpc.RunServiceStub(channel)

    async def start(index: int) -> None:
        request = run_pb2.StartRunRequest(workflow=WORKFLOW, request_id=f"parked-{index}")
        await stub.StartRun(request, metadata=metadata, timeout=60)

    for first in range(0, runs, 50):
        await asyncio.gather(*(start(index) for index in range(first, min(first + 50, runs))))
    while True:
        listed = await stub.ListRuns(
            run_pb2.ListRunsRequest(state=run_pb2.RUN_STATE_RUNNING, page_size=1000),
            metadata=metadata,
            timeout=30,
        )
        if len(listed.runs) >= runs:
            return
        await asyncio.sleep(0.5)


async def measure(home: pathlib.Path, runs: int, seconds: float) -> None:
    port = free_port()
    credentials = local_mesh.bootstrap(home, f"127.0.0.1:{port}")
    processes = local_mesh.plan(home, port, with_agents=False)
    agent_port = free_port()
    processes.append(
        ManagedProcess(
            PARKED_AGENT,
            "bench.agents",
            agent_port,
            bench_module_env(),
            args=("--name", PARKED_AGENT, "--port", str(agent_port)),
            log_dir=home / "logs",
        )
    )
    by_name = {process.name: process for process in processes}
    start_in_order(processes, stop_all)
    try:
        metadata = (("authorization", f"Bearer {credentials['api_key']}"),)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            await agent_registry_pb2_grpc.AgentRegistryServiceStub(channel).RegisterAgent(
                agent_registry_pb2.RegisterAgentRequest(
                    endpoint=f"127.0.0.1:{agent_port}", agent=PARKED_AGENT
                ),
                metadata=metadata,
                timeout=30,
            )
            await workflow_pb2_grpc.WorkflowServiceStub(channel).CreateWorkflow(
                workflow_pb2.CreateWorkflowRequest(source=WORKFLOW_SOURCE),
                metadata=metadata,
                timeout=30,
            )
            await asyncio.sleep(3)  # start-up work settles
            idle = await window(by_name, seconds)
            await park(channel, metadata, runs)
            await asyncio.sleep(3)  # the last starts' writes settle
            parked = await window(by_name, seconds)
    finally:
        stop_all(processes)
    print(f"{'':28} {'no run':>10} {f'{runs} parked':>12}")
    for name in idle:
        print(f"{name:28} {idle[name]:10.1f} {parked[name]:12.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="airspace-parked-") as home:
        asyncio.run(measure(pathlib.Path(home), args.runs, args.seconds))


if __name__ == "__main__":
    main()
