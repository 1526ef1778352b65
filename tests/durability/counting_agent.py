"""A slow test agent that counts: each step adds one to the count it is given, after a
pause, and appends every handler start and finish (with the idempotency key the router
sent) to a log file, so tests can count how often each step really ran.

    COUNTER_LOG=/tmp/counter.log python -m tests.durability.counting_agent --port 0
"""

from __future__ import annotations

import asyncio
import os
import pathlib

from airspace.agents.kit import Agent, Reply, Task

DELAY_SECONDS = float(os.environ.get("COUNTER_DELAY_SECONDS", "0.4"))

agent = Agent(name="counter", version="1.0.0", description="Adds one to a count, slowly.")


def record(what: str, task: Task) -> None:
    # One short line per write in append mode: lines of concurrent handlers never mix.
    with pathlib.Path(os.environ["COUNTER_LOG"]).open("a") as log:
        log.write(f"{what} {task.run_id} {task.step_key} {task.idempotency_key}\n")


@agent.handler
async def count(task: Task) -> Reply:
    record("start", task)
    await asyncio.sleep(DELAY_SECONDS)
    record("finish", task)
    total = int(task.data.get("count", 0)) + 1
    return Reply(text=f"count is {total}", data={"count": total})


if __name__ == "__main__":
    agent.serve()
