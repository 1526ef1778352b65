"""Sample agent: the operations view of a plan: it proposes running the plan in its phases
and says which open concerns the phasing answers."""

from __future__ import annotations

from airspace.agents.kit import Agent, Reply, Task
from airspace.agents.samples.contract_extractor import format_money
from airspace.agents.samples.planning import cost_of, open_concerns, plan_of

agent = Agent(
    name="operations-reviewer",
    version="1.0.0",
    description="Checks a plan's delivery and proposes a phasing that the budget and permits allow.",
    skills=[
        {
            "id": "review-plan-operations",
            "name": "Review a plan's delivery",
            "description": "Phases, their costs and start months.",
            "tags": ["planning", "operations"],
        }
    ],
)


@agent.handler
def review(task: Task) -> Reply:
    plan = plan_of(task)
    phases = [
        {"name": p["name"], "month": p["month"], "cost": cost_of(plan, p["items"])}
        for p in plan.get("phases", [])
    ]
    if not phases:
        return Reply(text="The plan has no phases to propose.", data={}, confidence=0.5)
    first = phases[0]
    answers = {
        "over-budget": first["cost"] <= plan["budget"],
        "permit-timing": first["month"] >= plan["permit_lead_months"],
    }
    resolves = [c["id"] for c in open_concerns(task.context) if answers.get(c["id"])]
    lines = [
        f"{p['name']}: {format_money(p['cost'], plan['currency'])} from month {p['month']:g}"
        for p in phases
    ]
    text = "Run it in phases — " + "; ".join(lines) + "."
    if resolves:
        text += f" Phase 1 answers {', '.join(resolves)}."
    return Reply(text=text, data={"phases": phases, "resolves": resolves}, confidence=0.8)


if __name__ == "__main__":
    agent.serve()
