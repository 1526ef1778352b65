"""What a person reads through the gateway is masked for the clearances of their roles, the
way an agent's input is masked for its card's: a viewer reading a run whose cleared agent
echoed an SSN and a card number sees neither in GetRun, ListRuns, WatchRun (every event)
or the approval's evidence and payload; the roles the bundle clears (auditor, admin) read
the same data in clear. Where the bundle TOKENIZEs, the viewer sees a token that only a
principal allowed token.resolve opens. What is stored is not changed by anyone's read."""

from __future__ import annotations

import json
import re

import grpc
import pytest
from governance_support import as_dict, decide, deploy, ending, start, watch
from mesh_support import wait_for_approvals

from airspace.agents.kit import Agent, Reply
from airspace.v1 import approval_pb2, observability_pb2, observability_pb2_grpc, run_pb2

pytestmark = pytest.mark.mesh

SSN = "536-90-4399"
CARD = "4111 1111 1111 1111"
PII = f"refund {CARD} to the customer with SSN {SSN}"
WORKFLOW = """
name: refunds
pattern: sequential
steps:
  - {name: read, agent: clerk, approval: {after: true}}
"""


def in_clear(*messages) -> list[str]:
    text = json.dumps([as_dict(m) for m in messages])
    return [value for value in (SSN, CARD, CARD.replace(" ", "")) if value in text]


def clerk() -> Agent:
    """Cleared for personal and payment data: its output repeats them, as its job needs."""
    agent = Agent(
        name="clerk", version="1.0.0", description="files refunds", clearances=("PII", "FINANCIAL")
    )

    @agent.handler
    async def read(task):
        return Reply(text=f"filed: {task.text}", data={"ssn": SSN, "card": CARD})

    return agent


@pytest.fixture
async def decided_run(mesh):
    """A completed run whose input, step output, approval and run output all hold the PII."""
    operator = mesh.client()
    await deploy(mesh, operator, WORKFLOW, clerk())
    run = await start(operator, "refunds", {"text": PII})
    approver = mesh.client("user:ada", "acme", ("approver",))
    [pending] = await wait_for_approvals(approver)
    decided = await decide(approver, pending, run_pb2.APPROVAL_OUTCOME_APPROVED, f"ok {SSN}")
    assert ending(await watch(operator, run.run_id)).to == run_pb2.RUN_STATE_COMPLETED
    return run.run_id, pending, decided


async def read_everything(client, run_id: str) -> list:
    """The run as GetRun and ListRuns show it, and every event WatchRun streams."""
    got = await client.runs.GetRun(run_pb2.GetRunRequest(run_id=run_id), metadata=client.metadata)
    listed = await client.runs.ListRuns(run_pb2.ListRunsRequest(), metadata=client.metadata)
    return [got.run, *listed.runs, *(await watch(client, run_id))]


async def test_a_viewer_reads_the_run_and_every_event_masked(mesh, decided_run):
    run_id, _, _ = decided_run
    viewer = mesh.client("user:vic", "acme", ("viewer",))
    seen = await read_everything(viewer, run_id)
    assert in_clear(*seen) == []
    run = seen[0]
    assert "[US_SSN]" in run.input["text"] and "**** **** **** 1111" in run.input["text"]
    [completed] = [e.step_completed for e in seen[2:] if e.HasField("step_completed")]
    assert completed.output.data["ssn"] == "[US_SSN]"
    decided = [e.approval_decided for e in seen[2:] if e.HasField("approval_decided")]
    assert [d.comment for d in decided] == ["ok [US_SSN]"]


async def test_an_approver_sees_the_evidence_and_payload_masked(mesh, decided_run):
    _, pending, decided = decided_run
    assert in_clear(pending, decided) == []
    assert decided.comment == "ok [US_SSN]"
    approver = mesh.client("user:ada", "acme", ("approver",))
    listed = await approver.approvals.ListApprovals(
        approval_pb2.ListApprovalsRequest(state=approval_pb2.APPROVAL_STATE_DECIDED),
        metadata=approver.metadata,
    )
    assert [a.approval_id for a in listed.approvals] == [pending.approval_id]
    assert in_clear(*listed.approvals) == []
    assert listed.approvals[0].payload_hash == pending.payload_hash, "bound to what is stored"


@pytest.mark.parametrize("role", ["auditor", "admin"])
async def test_roles_the_bundle_clears_read_the_same_run_in_clear(mesh, decided_run, role):
    run_id, _, _ = decided_run
    cleared = mesh.client(f"user:{role}", "acme", (role,))
    seen = await read_everything(cleared, run_id)
    assert in_clear(seen[0]) == [SSN, CARD]
    assert {SSN, CARD} <= set(in_clear(*seen[2:])), "the events too"


async def test_an_admin_reads_the_approval_in_clear(mesh, decided_run):
    _, pending, _ = decided_run
    admin = mesh.client("user:root", "acme", ("admin",))
    got = await admin.approvals.GetApproval(
        approval_pb2.GetApprovalRequest(approval_id=pending.approval_id), metadata=admin.metadata
    )
    assert SSN in in_clear(got.approval)


@pytest.mark.parametrize("bundle", ["US_SSN"], indirect=True)
async def test_a_tokenized_value_stays_a_token_that_only_token_resolve_opens(mesh):
    operator = mesh.client()
    await deploy(mesh, operator, WORKFLOW.replace(", approval: {after: true}", ""), clerk())
    run = await start(operator, "refunds", {"text": PII})
    assert ending(await watch(operator, run.run_id)).to == run_pb2.RUN_STATE_COMPLETED
    viewer = mesh.client("user:vic", "acme", ("viewer",))
    shown = (await read_everything(viewer, run.run_id))[0]
    [token] = re.findall(r"\[US_SSN:(tok_[0-9a-f]{32})\]", shown.input["text"])
    request = observability_pb2.ResolveTokenRequest(token=token, run_id=run.run_id)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await observability_pb2_grpc.AuditServiceStub(viewer.channel).ResolveToken(
            request, metadata=viewer.metadata
        )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    officer = mesh.client("user:pia", "acme", ("privacy-officer",))
    resolved = await observability_pb2_grpc.AuditServiceStub(officer.channel).ResolveToken(
        request, metadata=officer.metadata
    )
    assert resolved.value == SSN
