"""The four demo scenarios end to end through the gateway, with the real sample agents on
the sample data: each run's path, the decisions taken on the way, and how it ends."""

from __future__ import annotations

import importlib
import json
import pathlib

import pytest
from google.protobuf import json_format, struct_pb2
from mesh_support import apply, collect_events, register, wait_for_approvals

from airspace.v1 import approval_pb2, run_pb2

pytestmark = pytest.mark.mesh

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "workflows"
AGENTS = {
    "contract-intake": ("contract-extractor", "compliance-checker", "summary-writer"),
    "customer-issue-review": (
        "billing-analyst",
        "usage-analyst",
        "support-history",
        "case-synthesizer",
    ),
    "support-escalation": (
        "ticket-triage",
        "billing-specialist",
        "compliance-specialist",
        "human-queue",
    ),
    "planning-review": (
        "finance-reviewer",
        "legal-reviewer",
        "operations-reviewer",
        "planning-lead",
        "planning-chair",
    ),
}


def sample_agent(name: str):
    return importlib.import_module(f"airspace.agents.samples.{name.replace('-', '_')}").agent


@pytest.fixture
async def people(mesh):
    """The operator who starts runs and the approver who decides them, with the
    scenario's workflow applied and its agents registered."""

    async def setup(workflow: str):
        operator = mesh.client()
        for name in AGENTS[workflow]:
            await register(operator, await mesh.serve_agent(sample_agent(name)))
        await apply(operator, (WORKFLOWS / f"{workflow}.yaml").read_text())
        return operator, mesh.client("user:ada", "acme", ("approver",))

    return setup


def sample_input(name: str) -> struct_pb2.Struct:
    path = WORKFLOWS / "inputs" / name
    value = struct_pb2.Struct()
    value.update(
        json.loads(path.read_text()) if path.suffix == ".json" else {"text": path.read_text()}
    )
    return value


async def run(operator, approver, workflow: str, input_name: str, *decisions) -> list:
    """Runs the workflow on a sample input; the approver takes `decisions` in turn, each
    (outcome, comment[, edited payload]); returns the run's events."""
    started = await operator.runs.StartRun(
        run_pb2.StartRunRequest(workflow=workflow, input=sample_input(input_name)),
        metadata=operator.metadata,
    )
    for outcome, comment, *edited in decisions:
        [pending] = await wait_for_approvals(approver)
        request = approval_pb2.DecideApprovalRequest(
            approval_id=pending.approval_id,
            outcome=outcome,
            comment=comment,
            payload_hash=pending.payload_hash,
        )
        if edited:
            request.edited_payload.update(edited[0])
        await approver.approvals.DecideApproval(request, metadata=approver.metadata)
    return await collect_events(
        operator.runs.WatchRun(
            run_pb2.WatchRunRequest(run_id=started.run.run_id), metadata=operator.metadata
        )
    )


def of_kind(events, kind: str) -> list:
    return [getattr(e, kind) for e in events if e.HasField(kind)]


def final_state(events) -> int:
    return of_kind(events, "run_state_changed")[-1].to


def output(events) -> dict:
    return json_format.MessageToDict(of_kind(events, "run_output")[-1].output)


def routed(events, kind: int) -> list[tuple[str, str]]:
    """(chosen, decided by) of the run's routing decisions of one kind."""
    return [(r.chosen, r.decided_by) for r in of_kind(events, "routing_decision") if r.kind == kind]


def decided(events) -> list[tuple[int, str]]:
    return [(d.outcome, d.decided_by) for d in of_kind(events, "approval_decided")]


async def test_contract_intake_masks_pii_and_waits_for_a_reviewer_who_sends_it_back_once(people):
    operator, approver = await people("contract-intake")
    events = await run(
        operator,
        approver,
        "contract-intake",
        "msa.txt",
        (run_pb2.APPROVAL_OUTCOME_REJECTED, "List every check."),
        (run_pb2.APPROVAL_OUTCOME_APPROVED, "Fine."),
    )
    assert final_state(events) == run_pb2.RUN_STATE_COMPLETED
    completed = [e.agent for e in events if e.HasField("step_completed")]
    assert completed == [
        "contract-extractor",
        "compliance-checker",
        "summary-writer",
        "summary-writer",
    ]
    assert decided(events) == [
        (run_pb2.APPROVAL_OUTCOME_REJECTED, "user:ada"),
        (run_pb2.APPROVAL_OUTCOME_APPROVED, "user:ada"),
    ]
    masked = {
        e.agent
        for e in events
        if e.HasField("guardrail_verdict")
        and any("email" in o for o in e.guardrail_verdict.obligations_applied)
    }
    assert masked == {"compliance-checker", "summary-writer"}
    for event in events:
        if event.HasField("step_completed") and event.agent != "contract-extractor":
            assert "@northwind-analytics.example" not in str(event.step_completed.output)
    summary = output(events)["text"]
    assert 'Reviewer asked: "List every check."' in summary
    assert "passed: Liability is capped." in summary


async def test_customer_issue_review_records_the_conflict_and_names_the_failed_branch(people):
    operator, approver = await people("customer-issue-review")
    events = await run(operator, approver, "customer-issue-review", "customer-case.json")
    assert final_state(events) == run_pb2.RUN_STATE_COMPLETED
    [conflict] = of_kind(events, "conflict")
    assert dict(conflict.answers) == {"billing": "billing", "usage": "product"}
    assert conflict.resolved_by == "synthesizer"
    failed = [e for e in events if e.HasField("step_failed")]
    assert [(e.agent, e.step_failed.will_retry) for e in failed] == [("support-history", False)]
    result = output(events)
    assert result["agent"] == "case-synthesizer"
    assert result["data"]["root_cause"] == "billing"
    assert result["data"]["contributing"] == ["product"]
    assert result["data"]["failed_branches"]["history"]["reason"] == "AGENT_DEPENDENCY"
    assert "cold storage" in result["data"]["failed_branches"]["history"]["message"]
    assert "branch history failed" in result["text"]
    assert "refund EUR 1,850.00 (INV-1108)" in result["data"]["actions"]


async def test_support_escalation_hands_a_billing_ticket_to_the_billing_specialist(people):
    operator, approver = await people("support-escalation")
    events = await run(operator, approver, "support-escalation", "tickets/double-charge.json")
    assert final_state(events) == run_pb2.RUN_STATE_COMPLETED
    handoffs = [(h.from_agent, h.to_agent, h.accepted) for h in of_kind(events, "handoff")]
    assert handoffs == [("ticket-triage", "billing-specialist", True)]
    result = output(events)
    assert result["path"] == ["ticket-triage", "billing-specialist"]
    assert (result["data"]["resolution"], result["data"]["refund_amount"]) == ("refund", 1850)
    assert decided(events) == []


async def test_support_escalation_refuses_a_handoff_outside_the_graph_and_asks_a_person(people):
    operator, approver = await people("support-escalation")
    events = await run(
        operator,
        approver,
        "support-escalation",
        "tickets/erasure-request.json",
        (run_pb2.APPROVAL_OUTCOME_APPROVED, "Legal agrees."),
    )
    assert final_state(events) == run_pb2.RUN_STATE_COMPLETED
    handoffs = [(h.from_agent, h.to_agent, h.accepted) for h in of_kind(events, "handoff")]
    assert handoffs == [
        ("ticket-triage", "compliance-specialist", True),
        ("compliance-specialist", "legal-counsel", False),
    ]
    assert routed(events, run_pb2.ROUTING_KIND_ESCALATION) == [("human-queue", "escalation.target")]
    assert output(events)["path"] == ["ticket-triage", "compliance-specialist", "human-queue"]
    # What follows the reviewed step is recorded once, after the person decided.
    assert routed(events, run_pb2.ROUTING_KIND_TERMINATE) == [("", "agent:human-queue")]
    assert decided(events) == [(run_pb2.APPROVAL_OUTCOME_APPROVED, "user:ada")]


async def test_support_escalation_sends_an_unclear_ticket_to_a_person_who_edits_the_reply(people):
    operator, approver = await people("support-escalation")
    reply = {"text": "We will call you back today.", "data": {"queue": "tier-2"}}
    events = await run(
        operator,
        approver,
        "support-escalation",
        "tickets/unclear.json",
        (run_pb2.APPROVAL_OUTCOME_EDITED, "called", reply),
    )
    assert final_state(events) == run_pb2.RUN_STATE_COMPLETED
    assert of_kind(events, "handoff") == []
    assert routed(events, run_pb2.ROUTING_KIND_ESCALATION) == [
        ("human-queue", "escalation.confidence_below")
    ]
    assert output(events)["text"] == reply["text"]
    assert decided(events) == [(run_pb2.APPROVAL_OUTCOME_EDITED, "user:ada")]


async def test_planning_review_lets_the_chair_pick_speakers_and_the_lead_decide(people):
    operator, approver = await people("planning-review")
    events = await run(
        operator,
        approver,
        "planning-review",
        "planning-rotterdam.json",
        (run_pb2.APPROVAL_OUTCOME_APPROVED, "Board pack."),
    )
    assert final_state(events) == run_pb2.RUN_STATE_COMPLETED
    chair = "selector:planning-chair"
    assert routed(events, run_pb2.ROUTING_KIND_NEXT_SPEAKER) == [
        ("finance-reviewer", chair),
        ("legal-reviewer", chair),
        ("operations-reviewer", chair),
        ("planning-lead", chair),
    ]
    assert routed(events, run_pb2.ROUTING_KIND_TERMINATE) == [("", "decider:planning-lead")]
    result = output(events)
    assert result["author"] == "planning-lead"
    assert result["data"]["recommendation"] == "approve-first-phase"
    assert result["data"]["committed"] == 1_660_000
    assert result["data"]["conditions"] == ["negotiate a break clause into the 10-year lease"]
    assert decided(events) == [(run_pb2.APPROVAL_OUTCOME_APPROVED, "user:ada")]
