"""The step's stages and the handoff bounds on in-memory repositories: hops and visits,
the hops left an agent is told, action decisions, and reviews that retry or edit."""

from __future__ import annotations

import pytest
from google.protobuf import struct_pb2
from harness import TENANT, answers, failure, final, handoff

from airspace.agent.v1 import agent_pb2
from airspace.policy.engine.model import Verdict
from airspace.router.agent_invoker import OnAction
from airspace.router.convert import to_dict
from airspace.router.repositories import Decision
from airspace.router.repositories.in_memory import decision
from airspace.v1 import approval_pb2, run_pb2

pytestmark = pytest.mark.unit

COMPLETED, FAILED = run_pb2.RUN_STATE_COMPLETED, run_pb2.RUN_STATE_FAILED
WAITING = run_pb2.RUN_STATE_WAITING_APPROVAL


def hands_to(target: str, then_answers_on_visit: int = 0):
    """Hands off to `target`; answers instead on its n-th visit (never when 0)."""
    visits = [0]

    async def behaviour(start: agent_pb2.InvokeStart, act: OnAction) -> agent_pb2.InvokeEvent:
        visits[0] += 1
        if visits[0] == then_answers_on_visit:
            return final(f"answered on visit {visits[0]}")
        return handoff(target, "over to you")

    return behaviour


CHAIN = """
name: chain
pattern: handoff
entry: triage
agents: [{agent: triage}, {agent: billing}, {agent: refunds}]
edges: [{from: triage, to: billing}, {from: billing, to: refunds}]
max_hops: 3
"""


async def test_a_hop_past_max_hops_fails_the_run_after_that_many_hops(router):
    await router.register("triage", hands_to("billing"))
    await router.register("billing", hands_to("refunds"))
    await router.register("refunds", answers("refunded"))
    run = await router.run(CHAIN.replace("max_hops: 3", "max_hops: 1"))
    assert run.state == FAILED and "HOP_LIMIT" in run.error.message
    assert [s.step_key for s in router.agents.calls] == ["h0001-triage", "h0002-billing"]
    assert run.usage.hops == 1


async def test_the_budget_lowers_the_graphs_hop_bound(router):
    await router.register("triage", hands_to("billing"))
    await router.register("billing", hands_to("refunds"))
    await router.register("refunds", answers("refunded"))
    run = await router.run(CHAIN + "budget: {max_hops: 1}\n")
    assert run.state == FAILED and "HOP_LIMIT" in run.error.message


async def test_every_hop_has_its_own_key_and_agents_are_told_the_hops_left(router):
    await router.register("triage", hands_to("billing"))
    await router.register("billing", hands_to("refunds"))
    await router.register("refunds", answers("refunded"))
    run = await router.run(CHAIN)
    assert run.state == COMPLETED and run.usage.hops == 2
    calls = router.agents.calls
    assert [s.step_key for s in calls] == ["h0001-triage", "h0002-billing", "h0003-refunds"]
    assert [s.budget.hops_left for s in calls] == [3, 2, 1]
    assert [s.hop_count for s in calls] == [0, 1, 2]


async def test_max_visits_lets_an_agent_take_the_task_again_under_a_new_key(router):
    await router.register("triage", hands_to("billing", then_answers_on_visit=2))
    await router.register("billing", hands_to("triage"))
    run = await router.run(
        "name: back\npattern: handoff\nentry: triage\nagents: [{agent: triage}, {agent: billing}]\n"
        "edges: [{from: triage, to: billing}, {from: billing, to: triage}]\nmax_visits: 2",
    )
    assert run.state == COMPLETED
    assert to_dict(run.output)["path"] == ["triage", "billing", "triage"]
    assert [s.step_key for s in router.agents.calls] == [
        "h0001-triage",
        "h0002-billing",
        "h0003-triage",
    ]


async def test_a_third_visit_past_max_visits_is_a_loop(router):
    await router.register("triage", hands_to("billing"))
    await router.register("billing", hands_to("triage"))
    run = await router.run(
        "name: loop\npattern: handoff\nentry: triage\nagents: [{agent: triage}, {agent: billing}]\n"
        "edges: [{from: triage, to: billing}, {from: billing, to: triage}]\n"
        "max_visits: 2\nmax_hops: 10",
    )
    assert run.state == FAILED and "HANDOFF_LOOP" in run.error.message
    assert len(router.agents.calls) == 4


def refunding(performed: list):
    """Asks to refund; performs it only when allowed, with the arguments it was allowed."""

    async def behaviour(start: agent_pb2.InvokeStart, act: OnAction) -> agent_pb2.InvokeEvent:
        request = agent_pb2.ActionRequest(action_id="a1", name="payments.refund", reason="twice")
        request.arguments.update({"amount": 120})
        decision = await act(request)
        if decision.verdict == agent_pb2.ACTION_VERDICT_PENDING_APPROVAL:
            return failure("waiting", False, agent_pb2.AGENT_ERROR_KIND_PENDING_APPROVAL)
        if decision.verdict != agent_pb2.ACTION_VERDICT_ALLOWED:
            return final(f"not refunded: {agent_pb2.ActionVerdict.Name(decision.verdict)}")
        performed.append(to_dict(decision.arguments) or to_dict(request.arguments))
        return final("refunded")

    return behaviour


REFUND = "name: refund\npattern: sequential\nsteps: [{name: pay, agent: payer, actions: [ALLOWED]}]"


async def test_an_action_the_step_does_not_declare_is_denied_whatever_policy_says(router):
    performed: list = []
    await router.register("payer", refunding(performed))
    run = await router.run(REFUND.replace("ALLOWED", "crm.lookup"))
    assert run.state == COMPLETED and "ACTION_VERDICT_DENIED" in to_dict(run.output)["text"]
    assert performed == []


async def test_an_action_policy_allows_is_performed_and_recorded(router):
    performed: list = []
    await router.register("payer", refunding(performed))
    run = await router.run(REFUND.replace("ALLOWED", "payments.refund"))
    assert run.state == COMPLETED and performed == [{"amount": 120}]
    events = await router.events(run)
    [decided] = [e.action_decided.decision for e in events if e.HasField("action_decided")]
    assert decided.verdict == agent_pb2.ACTION_VERDICT_ALLOWED


async def test_an_action_held_for_approval_runs_after_it_with_the_edited_arguments(router):
    performed: list = []
    await router.register("payer", refunding(performed))
    router.repositories.policy.verdicts["agent.action"] = decision(
        Verdict.REQUIRE_APPROVAL, decision_id="d1", approver_role="approver"
    )
    run = await router.run(REFUND.replace("ALLOWED", "payments.refund"))
    assert run.state == WAITING and performed == []
    [approval] = await router.approvals()
    assert approval.kind == approval_pb2.APPROVAL_KIND_ACTION
    edited = struct_pb2.Struct()
    edited.update({"amount": 100})
    decided = await router.repositories.approvals.decide(
        TENANT,
        approval.approval_id,
        Decision(run_pb2.APPROVAL_OUTCOME_EDITED, "user:bob", "cap it", edited),
    )
    await router.executor.resume(decided)
    done = await router.settled(run)
    assert done.state == COMPLETED and performed == [{"amount": 100}]
    [second] = [s for s in router.agents.calls if s.attempt > 1 or s.prior_action_decisions]
    assert second.prior_action_decisions[0].approval_id == approval.approval_id


REVIEWED = (
    "name: reviewed\npattern: sequential\nsteps: [{name: draft, agent: writer, "
    "approval: {after: true, role: approver, on_reject: retry}}]"
)


def drafting():
    drafts = [0]

    async def behaviour(start: agent_pb2.InvokeStart, act: OnAction) -> agent_pb2.InvokeEvent:
        drafts[0] += 1
        said = [item.parts[0].text for item in start.context if item.parts]
        return final(f"draft {drafts[0]}", heard=said)

    return behaviour


async def test_a_rejected_review_retries_the_step_with_the_reviewers_comment(router):
    await router.register("writer", drafting())
    run = await router.run(REVIEWED)
    [first] = await router.approvals()
    decided = await router.repositories.approvals.decide(
        TENANT,
        first.approval_id,
        Decision(run_pb2.APPROVAL_OUTCOME_REJECTED, "user:bob", "shorter"),
    )
    await router.executor.resume(decided)
    await router.settled(run)
    pending = [
        a for a in await router.approvals() if a.state == approval_pb2.APPROVAL_STATE_PENDING
    ]
    assert [s.step_key for s in router.agents.calls] == ["s0001-draft", "s0001-draft-retry1"]
    assert "shorter" in list(router.agents.calls[1].context[-1].parts[0].text.split("\n"))
    await router.decide(pending[0].approval_id, run_pb2.APPROVAL_OUTCOME_APPROVED)
    done = await router.settled(run)
    assert done.state == COMPLETED and to_dict(done.output)["text"] == "draft 2"


async def test_an_edited_review_replaces_the_output_without_invoking_the_agent_again(router):
    await router.register("writer", drafting())
    run = await router.run(REVIEWED)
    [first] = await router.approvals()
    edited = struct_pb2.Struct()
    edited.update({"text": "the reviewer's draft", "data": {}})
    decided = await router.repositories.approvals.decide(
        TENANT,
        first.approval_id,
        Decision(run_pb2.APPROVAL_OUTCOME_EDITED, "user:bob", "mine", edited),
    )
    await router.executor.resume(decided)
    done = await router.settled(run)
    assert done.state == COMPLETED and to_dict(done.output)["text"] == "the reviewer's draft"
    assert len(router.agents.calls) == 1
