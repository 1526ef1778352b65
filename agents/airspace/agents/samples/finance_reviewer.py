"""Sample agent: the finance view of a plan: its cost against the budget, and its payback."""

from __future__ import annotations

from airspace.agents.kit import Agent, Reply, Task
from airspace.agents.samples.contract_extractor import format_money
from airspace.agents.samples.planning import concern, cost_of, plan_of

agent = Agent(
    name="finance-reviewer",
    version="1.0.0",
    description="Checks a plan's costs against its budget and works out the payback.",
    skills=[
        {
            "id": "review-plan-finance",
            "name": "Review a plan's finances",
            "description": "Budget variance and payback period.",
            "tags": ["planning", "finance"],
        }
    ],
)


@agent.handler
def review(task: Task) -> Reply:
    plan = plan_of(task)
    currency, budget, total = plan["currency"], plan["budget"], cost_of(plan)
    payback = round(total / plan["annual_savings"], 1)
    text = (
        f"Costs {format_money(total, currency)} against a budget of "
        f"{format_money(budget, currency)}; payback {payback:g} years."
    )
    concerns = []
    if total > budget:
        over = total - budget
        concerns.append(
            concern(
                "over-budget",
                "blocker",
                "operations-reviewer",
                f"over budget by {format_money(over, currency)} ({over / budget:.0%})",
            )
        )
        text += f" Over budget by {format_money(over, currency)}: not fundable as it stands."
    return Reply(
        text=text,
        data={"total_cost": total, "payback_years": payback, "concerns": concerns},
        confidence=0.9,
    )


if __name__ == "__main__":
    agent.serve()
