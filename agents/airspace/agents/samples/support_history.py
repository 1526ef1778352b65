"""Sample agent: reads an account's earlier support tickets. Tickets archived to cold
storage are out of its reach, and it says so instead of guessing."""

from __future__ import annotations

from airspace.agents.kit import Agent, AgentFailure, Reply, Task
from airspace.agents.samples.accounts import account

agent = Agent(
    name="support-history",
    version="1.0.0",
    description="Reads an account's earlier support tickets for repeat problems.",
    skills=[
        {
            "id": "review-history",
            "name": "Review support history",
            "description": "Counts open and repeated tickets by topic.",
            "tags": ["support", "history"],
        }
    ],
)


@agent.handler
def review(task: Task) -> Reply:
    history = account(task.data.get("account_id"))["support_history"]
    if history["archived"]:
        raise AgentFailure(
            "DEPENDENCY",
            f"the ticket history up to {history['until']} is in cold storage, out of reach",
            retryable=False,
        )
    open_topics = sorted({t["topic"] for t in history["tickets"] if not t["resolved"]})
    return Reply(
        text=f"{len(history['tickets'])} earlier tickets; open: {', '.join(open_topics) or 'none'}.",
        data={"root_cause": open_topics[0] if open_topics else "none", "open": open_topics},
        confidence=0.6,
    )


if __name__ == "__main__":
    agent.serve()
