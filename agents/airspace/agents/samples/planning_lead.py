"""Sample agent: owns the planning review's recommendation, from what the reviewers said:
approve the first phase with its conditions, or hold the plan while a blocker is open."""

from __future__ import annotations

from airspace.agents.kit import Agent, Reply, Task
from airspace.agents.samples.contract_extractor import format_money
from airspace.agents.samples.planning import open_concerns, plan_of, said_by

agent = Agent(
    name="planning-lead",
    version="1.0.0",
    description="Decides a planning review's recommendation from the reviewers' findings.",
    skills=[
        {
            "id": "recommend-plan",
            "name": "Recommend on a plan",
            "description": "Approve, phase or hold a plan, with its conditions.",
            "tags": ["planning", "decision"],
        }
    ],
)


@agent.handler
def decide(task: Task) -> Reply:
    plan, concerns = plan_of(task), open_concerns(task.context)
    blockers = [c["text"] for c in concerns if c["severity"] == "blocker"]
    conditions = [c["text"] for c in concerns if c["severity"] == "condition"]
    if blockers:
        return Reply(
            text=f"Hold {plan['title']}: {'; '.join(blockers)}.",
            data={"final": True, "recommendation": "hold", "blockers": blockers},
            confidence=0.8,
        )
    phases = said_by(task.context, "operations-reviewer").get("phases") or [
        {"name": plan["title"], "month": plan["start_month"], "cost": plan["budget"]}
    ]
    first, later = phases[0], phases[1:]
    text = (
        f"Recommend approving {first['name']} of {plan['title']} "
        f"({format_money(first['cost'], plan['currency'])}, from month {first['month']:g})"
    )
    if later:
        text += "; decide " + ", ".join(p["name"] for p in later) + " on its results"
    text += "." + "".join(f" Condition: {c}." for c in conditions)
    return Reply(
        text=text,
        data={
            "final": True,
            "recommendation": "approve-first-phase",
            "committed": first["cost"],
            "conditions": conditions,
        },
        confidence=0.85,
    )


if __name__ == "__main__":
    agent.serve()
