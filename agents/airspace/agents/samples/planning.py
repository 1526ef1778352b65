"""What the planning review's agents share: the plan under review and the concerns they
raise and resolve in the transcript.

A concern is {"id", "severity": "blocker" | "condition", "owner", "text"}: a blocker stops
the plan until someone resolves it, a condition goes with the recommendation.
"""

from __future__ import annotations

from airspace.agents.kit import AgentFailure, ContextMessage, Task


def plan_of(task: Task) -> dict:
    plan = task.data.get("plan")
    if not isinstance(plan, dict) or not isinstance(plan.get("costs"), list):
        raise AgentFailure("INVALID_INPUT", "the input has no plan with costs", retryable=False)
    return plan


def cost_of(plan: dict, items: list[str] | None = None) -> float:
    """What the plan's cost lines (or only the named ones) add up to."""
    return round(
        sum(line["amount"] for line in plan["costs"] if items is None or line["item"] in items), 2
    )


def concern(id: str, severity: str, owner: str, text: str) -> dict:
    return {"id": id, "severity": severity, "owner": owner, "text": text}


def open_concerns(transcript: list[ContextMessage]) -> list[dict]:
    """The concerns raised in the transcript that no later message resolved."""
    raised: dict[str, dict] = {}
    for message in transcript:
        for item in message.data.get("concerns", []):
            raised[item["id"]] = item
        for resolved in message.data.get("resolves", []):
            raised.pop(resolved, None)
    return list(raised.values())


def said_by(transcript: list[ContextMessage], author: str) -> dict:
    """The data of the last thing `author` said (empty when they have not spoken)."""
    return next((m.data for m in reversed(transcript) if m.author == author), {})
