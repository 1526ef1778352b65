"""Sample agent: chairs the planning review. It gives the floor to each reviewer once, then to
whoever owns an open blocker, and to the planning lead once no blocker is left."""

from __future__ import annotations

from airspace.agents.kit import Agent, Reply, Task
from airspace.agents.samples.planning import open_concerns

REVIEWERS = ("finance-reviewer", "legal-reviewer", "operations-reviewer")
DECIDER = "planning-lead"

agent = Agent(
    name="planning-chair",
    version="1.0.0",
    description="Picks who speaks next in a planning review, and says why.",
    skills=[
        {
            "id": "chair-review",
            "name": "Chair a review",
            "description": "Each reviewer once, then owners of blockers, then the decider.",
            "tags": ["planning", "selector"],
        }
    ],
)


def next_speaker(transcript) -> tuple[str, str]:
    spoken = [m.author for m in transcript if m.role == "AGENT"]
    for reviewer in REVIEWERS:
        if reviewer not in spoken:
            return reviewer, f"{reviewer} has not reviewed the plan yet"
    concerns = open_concerns(transcript)
    blockers = [c for c in concerns if c["severity"] == "blocker"]
    # An owner who already answered last gets no second turn in a row: the lead decides.
    if blockers and spoken[-1] != blockers[0]["owner"]:
        return blockers[0]["owner"], f"blocker {blockers[0]['id']} is open; its owner answers"
    conditions = [c["id"] for c in concerns if c["severity"] == "condition"]
    why = "no blocker is open" + (f" (conditions: {', '.join(conditions)})" if conditions else "")
    return DECIDER, f"{why}: the planning lead decides"


@agent.handler
def choose(task: Task) -> Reply:
    speaker, why = next_speaker(task.context)
    return Reply(text=why, data={"next_speaker": speaker}, confidence=1.0)


if __name__ == "__main__":
    agent.serve()
