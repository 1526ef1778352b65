"""Sample agent: reconciles the findings of a customer case's reviewers into one account of
what went wrong and what to do, and says which reviews are missing.

The primary cause is the one the customer's own words point to most; every other cause
found is contributing.
"""

from __future__ import annotations

from airspace.agents.kit import Agent, AgentFailure, ContextMessage, Reply, Task
from airspace.agents.samples.contract_extractor import format_money

# Words of a complaint that point at each cause.
CUES = {
    "billing": ("charge", "invoice", "bill", "refund", "twice", "paid"),
    "product": ("sync", "app", "error", "slow", "crash", "route"),
}
ACTIONS = {
    "billing": "refund the duplicate charges",
    "product": "open a product incident for the sync errors",
}

agent = Agent(
    name="case-synthesizer",
    version="1.0.0",
    description="Reconciles a customer case's billing, usage and history findings.",
    skills=[
        {
            "id": "reconcile-case",
            "name": "Reconcile a case",
            "description": "One root cause, contributing causes, actions and open gaps.",
            "tags": ["support", "synthesis"],
        }
    ],
)


def _cue_count(cause: str, complaint: str) -> int:
    lowered = complaint.lower()
    return sum(lowered.count(word) for word in CUES.get(cause, ()))


def reconcile(complaint: str, findings: list[ContextMessage], gaps: list[str]) -> dict:
    causes = [m for m in findings if m.data.get("root_cause") not in (None, "none")]
    if not causes:
        raise AgentFailure("INVALID_INPUT", "no reviewer found a cause to reconcile")
    # A stable sort: on a tie, the branch listed first in the workflow leads.
    ranked = sorted(causes, key=lambda m: _cue_count(m.data["root_cause"], complaint), reverse=True)
    primary = ranked[0].data["root_cause"]
    actions = [
        ACTIONS.get(m.data["root_cause"], f"look into {m.data['root_cause']}") for m in ranked
    ]
    billing = next((m.data for m in causes if m.data["root_cause"] == "billing"), {})
    if billing.get("refund_amount"):
        actions[actions.index(ACTIONS["billing"])] = (
            f"refund {format_money(billing['refund_amount'], billing['currency'])} "
            f"({', '.join(billing['duplicates'])})"
        )
    if gaps:
        actions.append("retrieve the archived support history before closing the case")
    return {
        "root_cause": primary,
        "contributing": [m.data["root_cause"] for m in ranked[1:]],
        "actions": actions,
        "not_reviewed": gaps,
    }


def _account_text(case: dict, findings: list[ContextMessage], gaps: list[str]) -> str:
    lines = [
        f"Root cause: {case['root_cause']}"
        + (f"; contributing: {', '.join(case['contributing'])}" if case["contributing"] else "")
    ]
    lines += [f"- {m.author}: {m.text}" for m in findings]
    lines += [f"- {gap}" for gap in gaps]
    lines += ["Actions:", *(f"{n}. {action}" for n, action in enumerate(case["actions"], 1))]
    return "\n".join(lines)


@agent.handler
def synthesize(task: Task) -> Reply:
    findings = [m for m in task.context if m.role == "AGENT"]
    # The router tells a synthesizer which branches failed, as system messages.
    gaps = [m.text for m in task.context if m.role == "SYSTEM"]
    case = reconcile(task.text, findings, gaps)
    return Reply(
        text=_account_text(case, findings, gaps), data=case, confidence=0.7 if gaps else 0.85
    )


if __name__ == "__main__":
    agent.serve()
