"""Sample agent: the legal view of a plan: permits against the timeline, and the lease."""

from __future__ import annotations

from airspace.agents.kit import Agent, Reply, Task
from airspace.agents.samples.planning import concern, plan_of

# A lease at least this long needs a way out before its end.
LONG_LEASE_YEARS = 5

agent = Agent(
    name="legal-reviewer",
    version="1.0.0",
    description="Checks a plan's permits and contracts for legal exposure.",
    skills=[
        {
            "id": "review-plan-legal",
            "name": "Review a plan's legal exposure",
            "description": "Permit lead times and lease terms.",
            "tags": ["planning", "legal"],
        }
    ],
)


@agent.handler
def review(task: Task) -> Reply:
    plan = plan_of(task)
    concerns = []
    if plan["start_month"] < plan["permit_lead_months"]:
        concerns.append(
            concern(
                "permit-timing",
                "blocker",
                "operations-reviewer",
                f"works start in month {plan['start_month']:g} but the permit takes "
                f"{plan['permit_lead_months']:g} months",
            )
        )
    lease = plan["lease"]
    if lease["term_years"] >= LONG_LEASE_YEARS and not lease.get("break_clause_years"):
        concerns.append(
            concern(
                "no-break-clause",
                "condition",
                "legal-reviewer",
                f"negotiate a break clause into the {lease['term_years']:g}-year lease",
            )
        )
    text = "; ".join(c["text"] for c in concerns) or "No legal exposure found"
    return Reply(text=f"{text}.", data={"concerns": concerns}, confidence=0.85)


if __name__ == "__main__":
    agent.serve()
