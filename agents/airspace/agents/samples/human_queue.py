"""Sample agent: puts a ticket the automation could not settle in front of a person,
with what the agents before it found, and a holding reply for the person to approve or edit."""

from __future__ import annotations

from airspace.agents.kit import Agent, Reply, Task

agent = Agent(
    name="human-queue",
    version="1.0.0",
    description="Prepares escalated tickets for the tier-2 support queue.",
    skills=[
        {
            "id": "queue-for-a-person",
            "name": "Queue for a person",
            "description": "Briefs the person who takes the ticket and drafts a holding reply.",
            "tags": ["support", "escalation"],
        }
    ],
)


# What the person needs of each earlier agent's data.
NOTED = ("category", "cues", "request", "retention_years", "confidence")


def _note(author: str, data: dict) -> str:
    found = "; ".join(f"{key} {data[key]}" for key in NOTED if key in data)
    return f"{author}: {found or 'no findings'}"


@agent.handler
def brief(task: Task) -> Reply:
    notes = [_note(m.author, m.data) for m in task.context if m.role == "AGENT"]
    ticket = task.data.get("ticket_id", "the ticket")
    reply = (
        "Thank you for your message. A member of our team is looking into it and will "
        "answer within one working day."
    )
    return Reply(
        text=f"{ticket} needs a person.\n" + "\n".join(notes) + f"\nHolding reply: {reply}",
        data={"queue": "tier-2", "ticket_id": ticket, "holding_reply": reply, "notes": notes},
        confidence=1.0,
    )


if __name__ == "__main__":
    agent.serve()
