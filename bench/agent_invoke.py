"""CPU per Invoke of an agent built with the Python agent kit, against the floor's echo
agent (bench/floor_server.py), measured side by side: what the kit adds to a step (its
result store, span, execution bookkeeping and conversions) over the gRPC stream itself.

    python -m bench.agent_invoke [--seconds 2] [--rounds 5] [--concurrency 16]

Both agents answer at once with their input; each is called over its own Invoke stream
the way the router calls agents (the request side open until the final event). Run by
hand, not by `make bench` or the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import tempfile
import uuid

import grpc

from airspace.agent.v1 import agent_pb2, agent_pb2_grpc
from airspace.cli.processes import ManagedProcess, free_port, stop_all
from bench import cpu, loadgen, rounds
from bench.agents import STEP_AGENTS
from bench.floor import RUN_TIMEOUT_SECONDS
from bench.mesh import bench_module_env, start_in_order
from bench.meters import Meter

_TERMINAL = frozenset({"final", "handoff", "error"})


def agents(home: pathlib.Path) -> dict[str, ManagedProcess]:
    kit_port, floor_port = free_port(), free_port()
    env = {**bench_module_env(), "AIRSPACE_DATA_DIR": str(home / "agents")}
    logs = home / "logs"
    return {
        "kit": ManagedProcess(
            "kit-agent",
            "bench.agents",
            kit_port,
            env,
            args=("--name", STEP_AGENTS[0], "--port", str(kit_port)),
            log_dir=logs,
        ),
        "floor": ManagedProcess(
            "floor-agent",
            "bench.floor_server",
            floor_port,
            env,
            args=("agent", "--port", str(floor_port)),
            log_dir=logs,
        ),
    }


def invoke(channel: grpc.aio.Channel) -> loadgen.Call:
    """One step: a task with the ids the router sends, read to its terminal event."""
    stub = agent_pb2_grpc.AgentServiceStub(channel)

    async def call() -> None:
        start = agent_pb2.InvokeStart(
            step_key="s0001-first",
            attempt=1,
            idempotency_key=uuid.uuid4().hex,
            run_id=uuid.uuid4().hex,
        )
        start.input.parts.add().text = "benchmark input"
        stream = stub.Invoke(timeout=RUN_TIMEOUT_SECONDS)
        await stream.write(agent_pb2.InvokeRequest(start=start))
        ended = False
        async for event in stream:
            ended = event.WhichOneof("kind") in _TERMINAL
            if ended:
                await stream.done_writing()
        if not ended:
            raise loadgen.Failed("NO_TERMINAL", "the stream ended without a terminal event")

    return call


async def measure(seconds: float, turns: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as home:
        processes = agents(pathlib.Path(home))
        start_in_order(list(processes.values()), stop_all)
        try:
            channels = {name: grpc.aio.insecure_channel(p.address) for name, p in processes.items()}
            meters = {name: Meter(cpu.reader({name: [p.pid]})) for name, p in processes.items()}
            loads = [
                rounds.Load(
                    f"Invoke of the {name} agent",
                    "calls",
                    concurrency,
                    invoke(channels[name]),
                    meters=(meters[name],),
                )
                for name in processes
            ]
            timing = rounds.Timing(warm_up=1.0, rounds=turns, seconds=seconds)
            measured = await rounds.take_turns(loads, timing)
            per_invoke = {}
            for name, load, taken in zip(processes, loads, measured, strict=True):
                calls = taken.result.ok
                per_invoke[name] = meters[name].per(calls, 1000)[name]
                print(f"{load.name}: {calls} calls, {per_invoke[name]:.3f} ms agent CPU each")
            print(
                f"kit agent / floor agent, CPU per Invoke: {per_invoke['kit'] / per_invoke['floor']:.2f}"
            )
            for channel in channels.values():
                await channel.close()
        finally:
            stop_all(list(processes.values()))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.agent_invoke", description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="per load and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=16, help="Invokes in flight")
    args = parser.parse_args()
    asyncio.run(measure(args.seconds, args.rounds, args.concurrency))


if __name__ == "__main__":
    main()
