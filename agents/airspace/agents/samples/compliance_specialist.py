"""Sample agent: handles data-protection tickets. Access requests it answers; an erasure
request collides with the duty to keep invoices, which is legal counsel's call, so it asks
to hand the ticket to them."""

from __future__ import annotations

from airspace.agents.kit import Agent, Handoff, Reply, Task

ERASURE_CUES = ("erase", "delete", "remove")
# What the sample company holds about a customer contact, by category.
DATA_HELD = ("contact details", "invoices", "support tickets", "product usage")
INVOICE_RETENTION_YEARS = 10

agent = Agent(
    name="compliance-specialist",
    version="1.0.0",
    description="Handles data-protection requests: access, rectification, erasure.",
    handoff=True,
    clearances=["DATA_CLASS_PII"],
    skills=[
        {
            "id": "data-protection-request",
            "name": "Handle a data-protection request",
            "description": "Answers access requests; sends erasure conflicts to legal.",
            "tags": ["support", "compliance", "gdpr"],
        }
    ],
)


@agent.handler
def handle(task: Task) -> Reply | Handoff:
    lowered = task.text.lower()
    if any(cue in lowered for cue in ERASURE_CUES):
        return Handoff(
            target="legal-counsel",
            reason=f"erasure collides with the {INVOICE_RETENTION_YEARS}-year invoice "
            "retention duty; legal counsel decides what may be deleted",
            text=task.text,
            data={**task.data, "request": "erasure", "retention_years": INVOICE_RETENTION_YEARS},
        )
    return Reply(
        text=f"Access request: we hold {', '.join(DATA_HELD)}; the export goes out within 30 days.",
        data={"request": "access", "categories": list(DATA_HELD)},
        confidence=0.85,
    )


if __name__ == "__main__":
    agent.serve()
