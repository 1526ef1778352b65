"""Sample agent: compares an account's recent product usage with the weeks before and names
the product as the root cause when sync errors spiked while usage fell."""

from __future__ import annotations

from airspace.agents.kit import Agent, Reply, Task
from airspace.agents.samples.accounts import account

# The latest weeks compared with the ones before them.
RECENT_WEEKS = 2
# Sync errors this many times the earlier weekly average make an incident.
ERROR_SPIKE = 10.0

agent = Agent(
    name="usage-analyst",
    version="1.0.0",
    description="Reads an account's weekly product usage for drops and error spikes.",
    skills=[
        {
            "id": "review-usage",
            "name": "Review product usage",
            "description": "Compares recent weeks with the weeks before them.",
            "tags": ["support", "product"],
        }
    ],
)


def _average(weeks: list[dict], field: str) -> float:
    return sum(week[field] for week in weeks) / len(weeks) if weeks else 0.0


def review_usage(usage: list[dict]) -> dict:
    earlier, recent = usage[:-RECENT_WEEKS], usage[-RECENT_WEEKS:]
    errors_before, errors_now = _average(earlier, "sync_errors"), _average(recent, "sync_errors")
    routes_before, routes_now = (
        _average(earlier, "optimised_routes"),
        _average(recent, "optimised_routes"),
    )
    spike = errors_before > 0 and errors_now >= ERROR_SPIKE * errors_before
    drop = round(1 - routes_now / routes_before, 2) if routes_before else 0.0
    return {
        "root_cause": "product" if spike else "none",
        "sync_errors_per_week": {"before": round(errors_before, 1), "now": round(errors_now, 1)},
        "usage_drop": drop,
        "since": recent[0]["week"] if recent else "",
    }


@agent.handler
def review(task: Task) -> Reply:
    finding = review_usage(account(task.data.get("account_id"))["usage"])
    errors = finding["sync_errors_per_week"]
    if finding["root_cause"] == "none":
        return Reply(text="Usage is steady.", data=finding, confidence=0.7)
    return Reply(
        text=f"Sync errors rose from {errors['before']:g} to {errors['now']:g} a week since "
        f"{finding['since']}; optimised routes fell {finding['usage_drop']:.0%}.",
        data=finding,
        confidence=0.75,
    )


if __name__ == "__main__":
    agent.serve()
