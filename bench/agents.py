"""Agents for benchmarks: the step agents answer at once, so a run measures the mesh, not
the agents; the branch agents take a known time, so a fan-out's latency can be compared
with its slowest branch; the parked agent holds every call until it is released (a file),
so the runs calling it stay parked as long as a benchmark needs.

python -m bench.agents --name bench-step-1 --port 0
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pathlib
from collections.abc import Sequence

from airspace.agents.kit import Agent, Reply, Task

STEP_AGENTS = ("bench-step-1", "bench-step-2", "bench-step-3")
WORKFLOW = "bench-three-step"
WORKFLOW_SOURCE = f"""
name: {WORKFLOW}
description: Three trivial sequential steps, for measuring the mesh itself.
pattern: sequential
steps:
  - {{name: first, agent: {STEP_AGENTS[0]}}}
  - {{name: second, agent: {STEP_AGENTS[1]}}}
  - {{name: third, agent: {STEP_AGENTS[2]}}}
"""


# Branch agents and how long each takes, in seconds.
BRANCH_AGENTS = {"bench-branch-1": 0.1, "bench-branch-2": 0.2, "bench-branch-3": 0.4}
# Holds its calls until released: the runs calling it stay parked (bench/parked_runs.py).
PARKED_AGENT = "bench-parked"
PARKED_WORKFLOW = "bench-parked"
PARKED_SOURCE = f"""
name: {PARKED_WORKFLOW}
description: One step at an agent that answers once released.
pattern: sequential
timeout: 2h
steps:
  - {{name: wait, agent: {PARKED_AGENT}, timeout: 1h}}
"""
# The parked agent answers while this file exists, and holds its calls while it does not.
RELEASE_FILE = "AIRSPACE_BENCH_RELEASE_FILE"
GATE_POLL_SECONDS = 0.2
FAN_OUT_WORKFLOW = "bench-fan-out"
FAN_OUT_SOURCE = f"""
name: {FAN_OUT_WORKFLOW}
description: Three branches of known duration at once, collected.
pattern: concurrent
branches: [{", ".join(f"{{agent: {name}}}" for name in BRANCH_AGENTS)}]
aggregate: {{strategy: collect}}
"""


class Gate:
    """What the parked agent's calls wait for: open while the file RELEASE_FILE names
    exists (every call held and every later one answers), closed while it does not."""

    def __init__(self, path: pathlib.Path):
        self._path = path
        self._open = asyncio.Event()
        self._watch: asyncio.Task[None] | None = None

    async def passed(self) -> None:
        if self._watch is None:  # one watch for every call, on the server's loop
            self._watch = asyncio.get_running_loop().create_task(self._watching())
        await self._open.wait()

    async def _watching(self) -> None:
        while True:
            if self._path.exists():
                self._open.set()
            else:
                self._open.clear()
            await asyncio.sleep(GATE_POLL_SECONDS)


def echo_agent(name: str) -> Agent:
    """An agent that passes its input's text on (after its delay, for a branch agent; once
    released, for the parked agent)."""
    delay = BRANCH_AGENTS.get(name, 0.0)
    gate = Gate(pathlib.Path(os.environ[RELEASE_FILE])) if name == PARKED_AGENT else None
    waits = "once released" if gate else f"after {delay}s"
    agent = Agent(name=name, version="1.0.0", description=f"Passes its input on {waits}")

    @agent.handler
    async def echo(task: Task) -> Reply:
        if gate:
            await gate.passed()
        elif delay:
            await asyncio.sleep(delay)
        return Reply(text=task.text or "ok", data={"done_by": name})

    return agent


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.agents", add_help=False)
    parser.add_argument(
        "--name", required=True, choices=[*STEP_AGENTS, *BRANCH_AGENTS, PARKED_AGENT]
    )
    known, rest = parser.parse_known_args(argv)
    echo_agent(known.name).serve(rest)


if __name__ == "__main__":
    main()
