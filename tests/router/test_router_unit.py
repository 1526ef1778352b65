"""The router's logic on in-memory repositories and scripted agents: every pattern, the
step's stages (retries, fallback, budgets, policy, journal replay) and people in the loop."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest
from harness import TENANT, answers, failure, final, handoff

from airspace.agent.v1 import agent_pb2
from airspace.mesh import logs
from airspace.policy.engine.model import Reason, Verdict
from airspace.policy.engine.pii.log_masking import mask_log_text
from airspace.router.agent_invoker import OnAction
from airspace.router.convert import to_dict
from airspace.router.repositories.in_memory import decision
from airspace.v1 import approval_pb2, run_pb2

pytestmark = pytest.mark.unit

COMPLETED, FAILED = run_pb2.RUN_STATE_COMPLETED, run_pb2.RUN_STATE_FAILED


def echoing(prefix: str):
    async def behaviour(start: agent_pb2.InvokeStart, act: OnAction) -> agent_pb2.InvokeEvent:
        return final(f"{prefix}({start.input.parts[0].text})")

    return behaviour


def failing_times(times: int, then: str = "ok", retryable: bool = True):
    left = [times]

    async def behaviour(start: agent_pb2.InvokeStart, act: OnAction) -> agent_pb2.InvokeEvent:
        if left[0]:
            left[0] -= 1
            return failure("flaky", retryable)
        return final(then)

    return behaviour


def handing_to(target: str):
    async def behaviour(start: agent_pb2.InvokeStart, act: OnAction) -> agent_pb2.InvokeEvent:
        return handoff(target, "not mine")

    return behaviour


SEQUENTIAL = """
name: chain
pattern: sequential
steps:
  - {name: first, agent: alpha, retry: {max_attempts: 3, initial_backoff: 0.001}}
  - {name: second, agent: beta}
"""


async def test_sequential_steps_feed_each_other_and_the_run_completes(router):
    await router.register("alpha", echoing("a"))
    await router.register("beta", echoing("b"))
    run = await router.run(SEQUENTIAL, "x")
    assert run.state == COMPLETED
    assert to_dict(run.output)["text"] == "b(a(x))"
    assert [start.step_key for start in router.agents.calls] == ["s0001-first", "s0002-second"]
    assert run.usage.steps == 2


async def test_a_retryable_failure_is_retried_with_the_same_idempotency_key(router):
    await router.register("alpha", failing_times(2))
    await router.register("beta", echoing("b"))
    run = await router.run(SEQUENTIAL, "x")
    assert run.state == COMPLETED
    firsts = [s for s in router.agents.calls if s.step_key == "s0001-first"]
    assert [s.attempt for s in firsts] == [1, 2, 3]
    assert len({s.idempotency_key for s in firsts}) == 1
    events = await router.events(run)
    assert sum(e.HasField("retry_scheduled") for e in events) == 2


async def test_a_failure_that_is_not_retryable_fails_the_run_at_once(router):
    await router.register("alpha", failing_times(5, retryable=False))
    await router.register("beta", echoing("b"))
    run = await router.run(SEQUENTIAL, "x")
    assert run.state == FAILED
    assert "s0001-first" in run.error.message and "1 attempt" in run.error.message
    assert len(router.agents.calls) == 1


async def test_the_fallback_agent_takes_over_when_the_agent_fails(router):
    await router.register("alpha", failing_times(9, retryable=False))
    await router.register("backup", answers("from backup"))
    run = await router.run(
        "name: fb\npattern: sequential\n"
        "steps: [{name: only, agent: alpha, fallback_agent: backup}]",
    )
    assert run.state == COMPLETED and to_dict(run.output)["text"] == "from backup"
    decisions = [
        e.routing_decision for e in await router.events(run) if e.HasField("routing_decision")
    ]
    assert any(d.kind == run_pb2.ROUTING_KIND_FALLBACK and d.chosen == "backup" for d in decisions)


async def test_the_step_budget_ends_a_run_before_the_step_past_it(router):
    await router.register("alpha", echoing("a"))
    await router.register("beta", echoing("b"))
    run = await router.run(SEQUENTIAL + "budget: {max_steps: 1}\n", "x")
    assert run.state == FAILED and "BUDGET_EXCEEDED" in run.error.message
    assert [s.step_key for s in router.agents.calls] == ["s0001-first"]


async def test_a_run_past_its_timeout_fails_with_run_timeout(router):
    async def silent(start: agent_pb2.InvokeStart, act: OnAction) -> agent_pb2.InvokeEvent:
        await asyncio.Event().wait()  # never answers
        raise AssertionError("unreachable")

    await router.register("alpha", silent)
    run = await router.run(
        "name: slow\npattern: sequential\ntimeout: 0.2s\nsteps: [{name: only, agent: alpha}]"
    )
    assert run.state == FAILED and "RUN_TIMEOUT" in run.error.message


async def test_a_policy_denial_stops_the_step_before_the_agent_sees_it(router):
    await router.register("alpha", echoing("a"))
    await router.register("beta", echoing("b"))
    router.repositories.policy.verdicts["step.input"] = decision(
        Verdict.DENY, Reason("NOT_TODAY", "", "no"), decision_id="d1"
    )
    run = await router.run(SEQUENTIAL, "x")
    assert run.state == FAILED and "POLICY_DENIED" in run.error.message
    assert router.agents.calls == []


async def test_a_run_resumed_by_another_router_never_invokes_a_journaled_step_again(router):
    release = asyncio.Event()

    async def slow(start: agent_pb2.InvokeStart, act: OnAction) -> agent_pb2.InvokeEvent:
        await release.wait()
        return final(f"b({start.input.parts[0].text})")

    await router.register("alpha", echoing("a"))
    await router.register("beta", slow)
    run = await router.start(await router.workflow(SEQUENTIAL), "x")
    while len(router.agents.calls) < 2:  # the first step journaled, the second under way
        await asyncio.sleep(0.01)
    await router.executor.shutdown()  # the router dies with the second step in flight
    release.set()
    replica = router.replica("router-2")
    replica.executor.launch(await router.repositories.runs.get(TENANT, run.run_id))
    done = await replica.settled(run)
    assert done.state == COMPLETED and to_dict(done.output)["text"] == "b(a(x))"
    keys = [start.step_key for start in router.agents.calls]
    assert keys == ["s0001-first", "s0002-second", "s0002-second"]
    in_flight = [s for s in router.agents.calls if s.step_key == "s0002-second"]
    assert in_flight[0].idempotency_key == in_flight[1].idempotency_key
    await replica.close()


async def test_concurrent_branches_vote(router):
    await router.register("legal", answers("a", verdict="approve"))
    await router.register("finance", answers("b", verdict="reject"))
    await router.register("risk", answers("c", verdict="approve"))
    run = await router.run(
        "name: vote\npattern: concurrent\n"
        "branches: [{agent: legal}, {agent: finance}, {agent: risk}]\n"
        "aggregate: {strategy: vote, field: verdict}",
    )
    assert run.state == COMPLETED
    assert to_dict(run.output)["data"]["verdict"] == "approve"
    assert sorted(s.step_key for s in router.agents.calls) == [
        "branch-finance",
        "branch-legal",
        "branch-risk",
    ]


async def test_group_chat_round_robin_ends_with_the_decider(router):
    for name in ("analyst", "critic"):
        await router.register(name, answers(f"{name} speaks"))
    await router.register("chair", answers("decided", by="chair", final=True))
    run = await router.run(
        "name: panel\npattern: group_chat\n"
        "participants: [{agent: analyst}, {agent: critic}, {agent: chair}]\n"
        "termination: {max_rounds: 9, decider: chair}",
    )
    assert run.state == COMPLETED and to_dict(run.output)["data"]["by"] == "chair"
    assert [s.step_key for s in router.agents.calls] == [
        "t0001-analyst",
        "t0002-critic",
        "t0003-chair",
    ]


HANDOFF = """
name: support
pattern: handoff
entry: triage
agents: [{agent: triage}, {agent: billing}, {agent: refunds}]
edges:
  - {from: triage, to: [billing]}
max_hops: 3
"""


async def test_an_allowed_handoff_is_taken_and_counted(router):
    await router.register("triage", handing_to("billing"))
    await router.register("billing", answers("refunded"))
    await router.register("refunds", answers("unused"))
    run = await router.run(HANDOFF, "charged twice")
    assert run.state == COMPLETED
    assert to_dict(run.output)["path"] == ["triage", "billing"]
    assert run.usage.hops == 1
    assert router.agents.calls[0].allowed_handoffs == ["billing"]


async def test_a_handoff_outside_the_graph_is_refused(router):
    await router.register("triage", handing_to("refunds"))
    await router.register("billing", answers("unused"))
    await router.register("refunds", answers("unused"))
    run = await router.run(HANDOFF, "send me to refunds")
    assert run.state == FAILED and "HANDOFF_REFUSED" in run.error.message
    assert [s.step_key for s in router.agents.calls] == ["h0001-triage"]


async def test_an_approval_point_parks_the_run_until_a_person_decides(router):
    await router.register("alpha", echoing("a"))
    run = await router.run(
        "name: gated\npattern: sequential\n"
        "steps: [{name: only, agent: alpha, approval: {after: true, role: approver}}]",
        "x",
    )
    assert run.state == run_pb2.RUN_STATE_WAITING_APPROVAL
    [approval] = await router.approvals()
    assert approval.kind == approval_pb2.APPROVAL_KIND_CHECKPOINT
    await router.decide(approval.approval_id, run_pb2.APPROVAL_OUTCOME_APPROVED)
    done = await router.settled(run)
    assert done.state == COMPLETED
    assert len(router.agents.calls) == 1, "the approved step is not invoked again"


async def test_what_the_router_logs_while_it_executes_a_run_names_the_run(router):
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(logs.JsonFormatter("router", mask_log_text))
    logger = logging.getLogger("airspace.router")
    logger.addHandler(handler)

    async def noisy(start: agent_pb2.InvokeStart, act: OnAction) -> agent_pb2.InvokeEvent:
        logger.warning("step %s under way", start.step_key)
        return final("done")

    await router.register("alpha", noisy)
    try:
        run = await router.run(
            "name: one\npattern: sequential\nsteps: [{name: only, agent: alpha}]"
        )
    finally:
        logger.removeHandler(handler)
    [line] = [json.loads(text) for text in lines.getvalue().splitlines()]
    assert line["run_id"] == run.run_id and "s0001-only" in line["message"]


async def test_a_stalled_router_whose_run_was_taken_over_can_write_nothing_more(router):
    release = asyncio.Event()

    async def slow(start: agent_pb2.InvokeStart, act: OnAction) -> agent_pb2.InvokeEvent:
        await release.wait()
        return final(f"b({start.input.parts[0].text})")

    await router.register("alpha", echoing("a"))
    await router.register("beta", slow)
    run = await router.start(await router.workflow(SEQUENTIAL), "x")
    while len(router.agents.calls) < 2:  # the second step under way at router-1
        await asyncio.sleep(0.01)
    router.repositories.leases.expire("router-1")  # router-1 stalls past its lease
    replica = router.replica("router-2")
    replica.executor.launch(await router.repositories.runs.get(TENANT, run.run_id))
    while len(router.agents.calls) < 3:  # router-2 invokes the step in flight again
        await asyncio.sleep(0.01)
    release.set()  # both attempts finish; only the holder's result may land
    done = await replica.settled(run)
    await router.settled(run)
    assert done.state == COMPLETED
    events = await router.events(run)
    [taken] = [e.lease_taken_over for e in events if e.HasField("lease_taken_over")]
    assert (taken.previous_owner, taken.new_owner, taken.fencing_token) == (
        "router-1",
        "router-2",
        2,
    )
    completed = [e.step_key for e in events if e.HasField("step_completed")]
    assert completed == ["s0001-first", "s0002-second"], "router-1's late result never landed"
    journal = await router.repositories.runs.journal(TENANT, run.run_id)
    assert sorted(entry.step_key for entry in journal) == ["s0001-first", "s0002-second"]
    await replica.close()


CONTINUING = """
name: fan
pattern: concurrent
branches:
  - {agent: alpha}
  - {agent: beta, retry: {max_attempts: 1}}
aggregate: {strategy: collect, on_branch_failure: continue}
"""


async def test_a_concurrent_run_that_goes_on_without_a_branch_names_it_and_why(router):
    await router.register("alpha", answers("fine"))
    await router.register("beta", failing_times(1, retryable=False))
    run = await router.run(CONTINUING, "x")
    assert run.state == COMPLETED
    data = to_dict(run.output)["data"]
    assert list(data["branches"]) == ["alpha"]
    assert data["failed_branches"] == {
        "beta": {
            "reason": "AGENT_INTERNAL",
            "message": "step 'beta' (agent beta) failed after 1 attempt(s): flaky",
        }
    }
