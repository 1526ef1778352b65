"""Sample agent: reads a support ticket and hands it to the specialist its words point to.

It hands off only when the cues are clear (`min_confidence` in the step's parameters);
otherwise it answers with its low confidence and the workflow decides where the ticket goes.
"""

from __future__ import annotations

from airspace.agents.kit import Agent, AgentFailure, Handoff, Reply, Task

# The words that send a ticket to each specialist.
CUES = {
    "billing-specialist": ("invoice", "charged", "refund", "payment", "billed", "price"),
    "compliance-specialist": ("gdpr", "personal data", "erase", "privacy", "data protection"),
}
DEFAULT_MIN_CONFIDENCE = 0.6

agent = Agent(
    name="ticket-triage",
    version="1.0.0",
    description="Classifies support tickets and hands them to billing or compliance.",
    handoff=True,
    skills=[
        {
            "id": "triage-ticket",
            "name": "Triage a ticket",
            "description": "Picks the specialist for a ticket, with the cues that decided.",
            "tags": ["support", "triage"],
        }
    ],
)


def classify(text: str) -> tuple[str, list[str], float]:
    """The best specialist, the cues found for it, and how sure the match is."""
    lowered = text.lower()
    found = {target: [cue for cue in cues if cue in lowered] for target, cues in CUES.items()}
    ranked = sorted(found, key=lambda target: len(found[target]), reverse=True)
    best, runner_up = len(found[ranked[0]]), len(found[ranked[1]])
    confidence = 0.3 if best == 0 else min(0.95, 0.45 + 0.2 * best - 0.2 * runner_up)
    return ranked[0], found[ranked[0]], round(max(confidence, 0.1), 2)


@agent.handler
def triage(task: Task) -> Reply | Handoff:
    if not task.text.strip():
        raise AgentFailure("INVALID_INPUT", "the ticket has no text", retryable=False)
    target, cues, confidence = classify(task.text)
    ticket = {**task.data, "confidence": confidence}
    if confidence < task.parameters.get("min_confidence", DEFAULT_MIN_CONFIDENCE):
        return Reply(
            text="No clear billing or compliance cues: a person should read this ticket.",
            data={**ticket, "category": "unclear"},
            confidence=confidence,
        )
    return Handoff(
        target=target,
        reason=f"cues {', '.join(repr(cue) for cue in cues)} point to {target}",
        text=task.text,
        data={**ticket, "category": target.removesuffix("-specialist"), "cues": cues},
    )


if __name__ == "__main__":
    agent.serve()
