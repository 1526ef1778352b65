"""Sample agent: drafts a readable contract summary from extracted terms and compliance findings.

It needs no PII clearance: the summary names the companies but never their signatories.
A draft a reviewer sent back comes again with their comment quoted and every check listed,
passed ones too, so the reviewer sees what each rule found.
"""

from __future__ import annotations

from collections.abc import Sequence

from airspace.agents.kit import Agent, AgentFailure, Artifact, Reply, Task
from airspace.agents.samples.contract_extractor import format_money

# The terms a useful summary needs; the share present is the writer's confidence.
KEY_TERMS = (
    "parties",
    "effective_date",
    "term_months",
    "termination_notice_days",
    "payment_amount",
    "governing_law",
)


def write_summary(facts: dict, review_comments: Sequence[str] = ()) -> str:
    """A short plain-text summary; terms that were not found are said to be missing."""
    lines = [_headline(facts), ""]
    lines += [f"- {label}: {value}" for label, value in _terms(facts)]
    if "findings" in facts:
        lines += ["", _verdict(facts)]
        lines += [
            f"- [{f['severity']}] {'passed' if f['passed'] else 'FAILED'}: {f['message']}"
            for f in facts["findings"]
            if review_comments or not f["passed"]
        ]
    lines += [
        f'Reviewer asked: "{comment}" — every check is listed above.' for comment in review_comments
    ]
    return "\n".join(lines)


def coverage(facts: dict) -> float:
    present = sum(1 for name in KEY_TERMS if facts.get(name) not in (None, []))
    return round(present / len(KEY_TERMS), 2)


def _headline(facts: dict) -> str:
    parties = facts.get("parties") or []
    names = " and ".join(
        f"{p['name']} ({p['role']})" if p.get("role") else p["name"] for p in parties
    )
    return f"Agreement between {names}." if names else "Agreement between unidentified parties."


def _terms(facts: dict) -> list[tuple[str, str]]:
    def show(name: str, render) -> str:
        value = facts.get(name)
        return "not found" if value in (None, "") else render(value)

    def money(currency_field: str):
        return lambda amount: format_money(amount, facts.get(currency_field))

    return [
        ("Effective date", show("effective_date", str)),
        ("Initial term", show("term_months", lambda months: f"{months:g} months")),
        ("Fees", show("payment_amount", money("payment_currency"))),
        ("Termination", show("termination_notice_days", lambda days: f"{days:g} days' notice")),
        ("Liability cap", show("liability_cap_amount", money("liability_cap_currency"))),
        ("Governing law", show("governing_law", str)),
    ]


def _verdict(facts: dict) -> str:
    failed = sum(1 for f in facts["findings"] if not f["passed"])
    verdict = "passes" if facts.get("compliant") else "fails"
    approval = " Approval is required before signing." if facts.get("requires_approval") else ""
    return f"Compliance: the contract {verdict} review with {failed} finding(s).{approval}"


agent = Agent(
    name="summary-writer",
    version="1.0.0",
    description="Drafts a readable contract summary from extracted terms and compliance findings.",
    streaming=True,
    skills=[
        {
            "id": "summarize-contract",
            "name": "Summarize contract",
            "description": "Turns extracted terms and findings into a short summary for reviewers.",
            "tags": ["contracts", "summary"],
        }
    ],
)


@agent.handler
async def summarize(task: Task) -> Reply:
    facts = {**task.context_data, **task.data}
    if not any(name in facts for name in KEY_TERMS):
        raise AgentFailure(
            "INVALID_INPUT", "no extracted contract terms to summarize", retryable=False
        )
    # A reviewer's comment on an earlier draft comes as a system message.
    comments = [m.text for m in task.context if m.role == "SYSTEM" and m.text]
    summary = write_summary(facts, comments)
    await task.partial(summary.split("\n", 1)[0])
    return Reply(
        text=summary,
        data={"summary": summary},
        confidence=coverage(facts),
        artifacts=[Artifact(name="summary.txt", text=summary)],
    )


if __name__ == "__main__":
    agent.serve()
