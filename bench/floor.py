"""The bare gRPC floor as processes: what a durable three-step run costs in gRPC alone.

Two unary hops (the load generator to a relay, the relay to an orchestrator) and three
bidi Invoke streams (the orchestrator to three trivial agents), the same shape as a run
through the gateway and router. The servers are children (bench/floor_server.py), so
their CPU can be read from /proc as the mesh's is.
"""

from __future__ import annotations

import pathlib

import grpc

from airspace.cli.processes import ManagedProcess, free_port, stop_all
from bench import loadgen
from bench.floor_server import Message, run_stub
from bench.mesh import bench_module_env, start_in_order

AGENTS = 3
RUN_TIMEOUT_SECONDS = 30.0


class Floor:
    def __init__(self, home: pathlib.Path):
        self.home = home
        self.agents = [self._server(f"floor-agent-{n}", "agent") for n in range(1, AGENTS + 1)]
        addresses = ",".join(agent.address for agent in self.agents)
        self.orchestrator = self._server(
            "floor-orchestrator", "orchestrator", "--agents", addresses
        )
        self.relay = self._server("floor-relay", "relay", "--upstream", self.orchestrator.address)
        self.processes = [*self.agents, self.orchestrator, self.relay]

    def _server(self, name: str, role: str, *args: str) -> ManagedProcess:
        port = free_port()
        return ManagedProcess(
            name,
            "bench.floor_server",
            port,
            bench_module_env(),
            args=(role, "--port", str(port), *args),
            log_dir=self.home / "logs",
        )

    @property
    def address(self) -> str:
        """Where a run starts: the relay."""
        return self.relay.address

    def start(self) -> None:
        start_in_order(self.processes, stop_all)

    def stop(self) -> None:
        stop_all(self.processes)

    def cpu_groups(self) -> dict[str, list[int]]:
        return {
            "relay": [self.relay.pid],
            "orchestrator": [self.orchestrator.pid],
            "agents": [agent.pid for agent in self.agents],
        }


def run(channel: grpc.aio.Channel) -> loadgen.Call:
    """One run through the floor; its output must be its input, passed on by each agent."""
    start = run_stub(channel)
    request = Message(message_id="bench-input")
    request.parts.add().text = "benchmark input"

    async def call() -> None:
        reply = await start(request, timeout=RUN_TIMEOUT_SECONDS)
        if reply != request:
            raise loadgen.Failed("WRONG_OUTPUT", "the floor's run did not pass its input on")

    return call
