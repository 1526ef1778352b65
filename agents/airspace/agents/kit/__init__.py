"""The Python agent kit: write one handler function, get an AgentService server.

from airspace.agents.kit import Agent, Task, Reply

agent = Agent(name="greeter", version="1.0.0", description="Says hello")

@agent.handler
async def greet(task: Task) -> Reply:
    await task.progress("thinking", 0.5)
    return Reply(text=f"Hello, {task.text}", confidence=0.9)

if __name__ == "__main__":
    agent.serve()  # --host/--port or AIRSPACE_AGENT_HOST/AIRSPACE_AGENT_PORT

A plain function handler runs in a worker thread, or with @agent.handler(run_in="process")
in a worker process (for CPU-bound Python); see running.py. Completed results are kept by
idempotency key in an SQLite file and answer retries, also after a restart (results.py).
"""

from airspace.agents.kit.agent import Agent, Skill
from airspace.agents.kit.outcomes import AgentFailure, Artifact, Handoff, Reply
from airspace.agents.kit.settings import AgentSettings
from airspace.agents.kit.task import ContextMessage, Decision, Task

__all__ = [
    "Agent",
    "AgentFailure",
    "AgentSettings",
    "Artifact",
    "ContextMessage",
    "Decision",
    "Handoff",
    "Reply",
    "Skill",
    "Task",
]
