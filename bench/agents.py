"""Agents for benchmarks: each answers at once, so a run measures the mesh, not the agents.

python -m bench.agents --name bench-step-1 --port 0
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from agents.kit import Agent, Reply, Task

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


def echo_agent(name: str) -> Agent:
    """An agent that passes its input's text on and records that it ran."""
    agent = Agent(name=name, version="1.0.0", description="Passes its input on at once")

    @agent.handler
    async def echo(task: Task) -> Reply:
        return Reply(text=task.text or "ok", data={"done_by": name})

    return agent


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.agents", add_help=False)
    parser.add_argument("--name", required=True, choices=STEP_AGENTS)
    known, rest = parser.parse_known_args(argv)
    echo_agent(known.name).serve(rest)


if __name__ == "__main__":
    main()
