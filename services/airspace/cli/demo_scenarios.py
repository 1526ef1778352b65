"""The four scenarios of `airspace demo`: which workflow runs on which sample inputs, and
what the person in the loop decides when a run waits for them."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Decision:
    """What the approver does with the next approval a run asks for."""

    verb: str  # approve | reject | edit
    comment: str
    text: str | None = None  # edit: the output's new text


@dataclasses.dataclass(frozen=True)
class Case:
    """One run: its sample input (under workflows/inputs) and the decisions it will need."""

    input: str
    decisions: tuple[Decision, ...] = ()


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    workflow: str
    shows: str
    cases: tuple[Case, ...]


SCENARIOS = (
    Scenario(
        name="contract-intake",
        title="Contract intake · sequential",
        workflow="contract-intake",
        shows="extract → check against procurement policy → draft a summary → a reviewer "
        "decides; the signatories' emails are masked for the agents without clearance",
        cases=(
            Case(
                "msa.txt",
                (
                    Decision("reject", "Show every check, passed ones too, for the file."),
                    Decision("approve", "Terms match the procurement policy; fee needs sign-off."),
                ),
            ),
        ),
    ),
    Scenario(
        name="customer-issue-review",
        title="Customer issue review · concurrent",
        workflow="customer-issue-review",
        shows="billing, usage and history reviewers look at one case at once; their "
        "disagreement is a recorded conflict the synthesizer reconciles; the failed "
        "reviewer is named in the output",
        cases=(Case("customer-case.json"),),
    ),
    Scenario(
        name="support-escalation",
        title="Support escalation · handoff",
        workflow="support-escalation",
        shows="triage hands tickets to billing or compliance; a handoff outside the graph "
        "is refused and, like low confidence, goes to the human queue",
        cases=(
            Case("tickets/double-charge.json"),
            Case(
                "tickets/erasure-request.json",
                (Decision("approve", "Legal: erase the contact data, keep invoices 10 years."),),
            ),
            Case(
                "tickets/unclear.json",
                (
                    Decision(
                        "edit",
                        "Called the customer: sync errors since Monday.",
                        "Thanks for your call today. We traced the trouble to failing route "
                        "syncs and will send you the fix's progress by Friday.",
                    ),
                ),
            ),
        ),
    ),
    Scenario(
        name="planning-review",
        title="Planning review · group chat",
        workflow="planning-review",
        shows="finance, legal and operations discuss a plan; the chair picks each speaker "
        "and says why; the planning lead's recommendation goes to a person",
        cases=(
            Case(
                "planning-rotterdam.json",
                (Decision("approve", "Phase 1 approved for the board pack."),),
            ),
        ),
    ),
)


def by_name(name: str) -> Scenario:
    return next(scenario for scenario in SCENARIOS if scenario.name == name)
