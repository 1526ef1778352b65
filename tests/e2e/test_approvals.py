"""People in the loop, end to end through the gateway: checkpoints, low confidence, actions,
who may decide, reject and edit paths, and pauses that survive a router restart."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf import json_format, struct_pb2
from mesh_support import Mesh, apply, collect_events, register, wait_for_approvals
from prometheus_client import REGISTRY

from airspace.agents.kit import Agent, AgentFailure, Reply
from airspace.v1 import approval_pb2, run_pb2

pytestmark = pytest.mark.mesh

REVIEWED = """
name: reviewed
pattern: sequential
steps:
  - name: draft
    agent: drafter
    approval: {{after: true, role: approver, on_reject: {on_reject}}}
"""


def drafter(seen: list) -> Agent:
    agent = Agent(
        name="drafter",
        version="1.0.0",
        description="drafts, and takes review comments into account",
    )

    @agent.handler
    async def draft(task):
        comments = [m.text for m in task.context if m.author.startswith("user:")]
        seen.append(comments)
        return Reply(text=f"draft {len(seen)}", data={"draft": len(seen)}, confidence=0.9)

    return agent


async def start(client, workflow: str, **run_input) -> run_pb2.Run:
    value = struct_pb2.Struct()
    value.update(run_input)
    request = run_pb2.StartRunRequest(workflow=workflow, input=value)
    return (await client.runs.StartRun(request, metadata=client.metadata)).run


async def decide(client, approval, outcome, comment="", edited=None):
    request = approval_pb2.DecideApprovalRequest(
        approval_id=approval.approval_id,
        outcome=outcome,
        comment=comment,
        payload_hash=approval.payload_hash,
    )
    if edited is not None:
        request.edited_payload.update(edited)
    return (await client.approvals.DecideApproval(request, metadata=client.metadata)).approval


async def finish(client, run_id: str) -> list:
    return await collect_events(
        client.runs.WatchRun(run_pb2.WatchRunRequest(run_id=run_id), metadata=client.metadata)
    )


def ending(events) -> run_pb2.RunStateChanged:
    return [e.run_state_changed for e in events if e.HasField("run_state_changed")][-1]


def output(events) -> dict:
    return json_format.MessageToDict(
        [e for e in events if e.HasField("run_output")][-1].run_output.output
    )


@pytest.fixture
async def reviewed(mesh):
    seen: list = []
    operator = mesh.client()
    await register(operator, await mesh.serve_agent(drafter(seen)))
    approver = mesh.client("user:ada", "acme", ("approver",))
    return mesh, operator, approver, seen


async def test_an_approved_checkpoint_resumes_the_run(reviewed):
    mesh, operator, approver, seen = reviewed
    await apply(operator, REVIEWED.format(on_reject="stop"))
    run = await start(operator, "reviewed", text="write")
    [pending] = await wait_for_approvals(approver)
    assert (pending.kind, pending.required_role, pending.requested_by) == (
        approval_pb2.APPROVAL_KIND_CHECKPOINT,
        "approver",
        "user:olivia",
    )
    assert json_format.MessageToDict(pending.payload)["text"] == "draft 1"
    # The approval is visible a moment before the run records that it waits for it.
    for _ in range(200):
        waiting = (
            await operator.runs.GetRun(
                run_pb2.GetRunRequest(run_id=run.run_id), metadata=operator.metadata
            )
        ).run
        if waiting.state == run_pb2.RUN_STATE_WAITING_APPROVAL:
            break
        await asyncio.sleep(0.01)
    assert waiting.state == run_pb2.RUN_STATE_WAITING_APPROVAL
    await decide(approver, pending, run_pb2.APPROVAL_OUTCOME_APPROVED, "fine")
    events = await finish(operator, run.run_id)
    assert ending(events).to == run_pb2.RUN_STATE_COMPLETED
    assert output(events)["text"] == "draft 1" and len(seen) == 1
    decided = [e.approval_decided for e in events if e.HasField("approval_decided")]
    assert [(d.decided_by, d.comment) for d in decided] == [("user:ada", "fine")]


async def test_who_may_decide_and_only_once(reviewed):
    mesh, operator, approver, _ = reviewed
    await apply(operator, REVIEWED.format(on_reject="stop"))
    run = await start(operator, "reviewed")
    [pending] = await wait_for_approvals(approver)
    refusals = {
        "requester": operator,  # the run's own creator, though an operator
        "wrong role": mesh.client("user:vic", "acme", ("viewer", "operator")),
    }
    for who, client in refusals.items():
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await decide(client, pending, run_pb2.APPROVAL_OUTCOME_APPROVED)
        assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED, who
    outsider = mesh.client("user:eve", "globex", ("approver",))
    listed = await outsider.approvals.ListApprovals(
        approval_pb2.ListApprovalsRequest(), metadata=outsider.metadata
    )
    assert list(listed.approvals) == []
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await decide(outsider, pending, run_pb2.APPROVAL_OUTCOME_APPROVED)
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND
    await decide(approver, pending, run_pb2.APPROVAL_OUTCOME_REJECTED, "no")
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await decide(
            mesh.client("user:bob", "acme", ("approver",)),
            pending,
            run_pb2.APPROVAL_OUTCOME_APPROVED,
        )
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    events = await finish(operator, run.run_id)
    final = ending(events)
    assert final.to == run_pb2.RUN_STATE_FAILED and "REJECTED_BY_REVIEWER" in final.error.message


async def test_a_rejection_routes_back_to_the_agent_with_the_reviewers_comment(reviewed):
    mesh, operator, approver, seen = reviewed
    await apply(operator, REVIEWED.format(on_reject="retry"))
    run = await start(operator, "reviewed")
    [first] = await wait_for_approvals(approver)
    await decide(approver, first, run_pb2.APPROVAL_OUTCOME_REJECTED, "shorter please")
    second = [a for a in await wait_for_approvals(approver) if a.approval_id != first.approval_id]
    assert seen == [[], ["shorter please"]]
    await decide(approver, second[0], run_pb2.APPROVAL_OUTCOME_APPROVED)
    events = await finish(operator, run.run_id)
    assert ending(events).to == run_pb2.RUN_STATE_COMPLETED
    assert output(events)["text"] == "draft 2"


async def test_an_edit_replaces_the_output_after_the_same_checks(reviewed):
    mesh, operator, approver, _ = reviewed
    await apply(operator, REVIEWED.format(on_reject="stop"))
    run = await start(operator, "reviewed")
    [pending] = await wait_for_approvals(approver)
    await decide(
        approver,
        pending,
        run_pb2.APPROVAL_OUTCOME_EDITED,
        "fixed",
        {"text": "edited draft", "data": {"draft": 99}},
    )
    events = await finish(operator, run.run_id)
    assert ending(events).to == run_pb2.RUN_STATE_COMPLETED
    assert output(events)["text"] == "edited draft"
    checks = [e.guardrail_verdict.checkpoint for e in events if e.HasField("guardrail_verdict")]
    assert checks.count("step.output") == 2, "the edited payload is checked like agent output"


async def test_low_confidence_asks_a_person(mesh):
    operator = mesh.client()
    unsure = Agent(name="unsure", version="1.0.0")

    @unsure.handler
    async def guess(task):
        return Reply(text="maybe", confidence=0.4)

    await register(operator, await mesh.serve_agent(unsure))
    await apply(
        operator,
        "name: guess\npattern: sequential\nsteps: [{name: g, agent: unsure, min_confidence: 0.7}]",
    )
    await start(operator, "guess")
    [pending] = await wait_for_approvals(mesh.client("user:ada", "acme", ("approver",)))
    assert pending.kind == approval_pb2.APPROVAL_KIND_LOW_CONFIDENCE
    assert "0.40 is below 0.70" in pending.summary


async def test_an_action_held_by_policy_runs_only_after_approval_with_the_approved_arguments(mesh):
    operator = mesh.client()
    performed: list = []
    payer = Agent(name="payer", version="1.0.0", actions=True)

    @payer.handler
    async def pay(task):
        decision = await task.request_action(
            "payments.refund", {"amount": 120, "currency": "EUR"}, "duplicate charge"
        )
        if not decision.allowed:
            raise AgentFailure("REJECTED", "refund not allowed")
        performed.append(dict(decision.arguments))
        return Reply(text="refunded")

    await register(operator, await mesh.serve_agent(payer))
    await apply(
        operator,
        "name: refund\npattern: sequential\nsteps: [{name: pay, agent: payer, actions: [payments.refund]}]",
    )
    run = await start(operator, "refund")
    approver = mesh.client("user:ada", "acme", ("approver",))
    [pending] = await wait_for_approvals(approver)
    assert pending.kind == approval_pb2.APPROVAL_KIND_ACTION
    assert json_format.MessageToDict(pending.payload)["arguments"] == {
        "amount": 120.0,
        "currency": "EUR",
    }
    assert performed == []
    await decide(
        approver,
        pending,
        run_pb2.APPROVAL_OUTCOME_EDITED,
        "cap it",
        {"amount": 100, "currency": "EUR"},
    )
    events = await finish(operator, run.run_id)
    assert ending(events).to == run_pb2.RUN_STATE_COMPLETED
    assert performed == [{"amount": 100.0, "currency": "EUR"}]


def state_approval_listings() -> float:
    """ListApprovals calls the state service answered (the router's only caller of it in runs)."""
    labels = {
        "grpc_service": "airspace.state.v1.StateService",
        "grpc_method": "ListApprovals",
        "grpc_type": "unary",
        "grpc_code": "OK",
    }
    return REGISTRY.get_sample_value("airspace_grpc_server_handled_total", labels) or 0.0


@pytest.fixture
async def counting_mesh(tmp_path):
    started = Mesh(tmp_path, counted=frozenset({"state"}))
    await started.start()
    yield started
    await started.stop()


async def test_only_a_step_that_declares_actions_looks_up_decided_actions(counting_mesh):
    operator, seen = counting_mesh.client(), []
    await register(operator, await counting_mesh.serve_agent(drafter(seen)))
    await apply(
        operator,
        "name: lookups\npattern: sequential\nsteps: [{name: plain, agent: drafter}, "
        "{name: acting, agent: drafter, actions: [crm.lookup]}]",
    )
    before = state_approval_listings()
    run = await start(operator, "lookups")
    assert ending(await finish(operator, run.run_id)).to == run_pb2.RUN_STATE_COMPLETED
    assert len(seen) == 2
    assert state_approval_listings() - before == 1, "only the step with actions asks"


async def test_a_pause_survives_a_router_restart(reviewed):
    mesh, operator, approver, seen = reviewed
    await apply(operator, REVIEWED.format(on_reject="stop"))
    run = await start(operator, "reviewed")
    [pending] = await wait_for_approvals(approver)
    await mesh.restart_router()
    await decide(approver, pending, run_pb2.APPROVAL_OUTCOME_APPROVED)
    events = await finish(operator, run.run_id)
    assert ending(events).to == run_pb2.RUN_STATE_COMPLETED
    assert len(seen) == 1, "the agent's step is not run again after the restart"


async def test_an_approval_past_its_deadline_escalates_to_the_next_role(reviewed):
    mesh, operator, approver, seen = reviewed
    await apply(
        operator,
        """
name: escalating
pattern: sequential
steps:
  - name: draft
    agent: drafter
    approval: {after: true, role: approver, deadline: 1s, on_expiry: escalate, escalate_to: director}
""",
    )
    run = await start(operator, "escalating")
    director = mesh.client("user:dora", "acme", ("approver", "director"))
    escalated = []
    for _ in range(100):
        escalated = [a for a in await wait_for_approvals(director) if a.required_role == "director"]
        if escalated:
            break
        await asyncio.sleep(0.1)
    assert escalated and "deadline passed" in escalated[0].summary
    expired = (
        await director.approvals.ListApprovals(
            approval_pb2.ListApprovalsRequest(state=approval_pb2.APPROVAL_STATE_EXPIRED),
            metadata=director.metadata,
        )
    ).approvals
    assert [a.required_role for a in expired] == ["approver"]
    await decide(director, escalated[0], run_pb2.APPROVAL_OUTCOME_APPROVED)
    events = await finish(operator, run.run_id)
    assert ending(events).to == run_pb2.RUN_STATE_COMPLETED
    outcomes = [e.approval_decided.outcome for e in events if e.HasField("approval_decided")]
    assert outcomes == [run_pb2.APPROVAL_OUTCOME_EXPIRED, run_pb2.APPROVAL_OUTCOME_APPROVED]
    assert len(seen) == 1


async def test_an_approval_left_to_expire_fails_the_run(reviewed):
    mesh, operator, approver, _ = reviewed
    await apply(
        operator,
        "name: strict\npattern: sequential\nsteps:\n"
        "  - {name: draft, agent: drafter, approval: {after: true, deadline: 500ms}}",
    )
    run = await start(operator, "strict")
    events = await asyncio.wait_for(finish(operator, run.run_id), 20)
    final = ending(events)
    assert final.to == run_pb2.RUN_STATE_FAILED and "APPROVAL_EXPIRED" in final.error.message
