"""Agents for benchmarks: the step agents answer at once, so a run measures the mesh, not
the agents; the branch agents take a known time, so a fan-out's latency can be compared
with its slowest branch.

python -m bench.agents --name bench-step-1 --port 0
"""

from __future__ import annotations

import argparse
import asyncio
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
# Answers after an hour: the runs calling it stay parked (bench/parked_runs.py).
PARKED_AGENT, PARKED_SECONDS = "bench-parked", 3600.0
FAN_OUT_WORKFLOW = "bench-fan-out"
FAN_OUT_SOURCE = f"""
name: {FAN_OUT_WORKFLOW}
description: Three branches of known duration at once, collected.
pattern: concurrent
branches: [{", ".join(f"{{agent: {name}}}" for name in BRANCH_AGENTS)}]
aggregate: {{strategy: collect}}
"""


def echo_agent(name: str) -> Agent:
    """An agent that passes its input's text on (after its delay, for a branch agent)."""
    delay = {**BRANCH_AGENTS, PARKED_AGENT: PARKED_SECONDS}.get(name, 0.0)
    agent = Agent(name=name, version="1.0.0", description=f"Passes its input on after {delay}s")

    @agent.handler
    async def echo(task: Task) -> Reply:
        if delay:
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
