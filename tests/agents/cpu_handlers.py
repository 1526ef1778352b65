"""Module-level handlers for run_in="process" tests: a worker process imports them."""

from __future__ import annotations

from airspace.agents.kit import Reply, Task


def spin_or_echo(task: Task) -> Reply:
    """Computes in pure Python without end when told to "spin"; echoes anything else."""
    if task.text == "spin":
        total = 0
        while True:
            total += 1
    return Reply(text=task.text.upper(), data={"step": task.step_key})
