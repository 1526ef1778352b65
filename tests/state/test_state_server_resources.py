"""StateService over real gRPC: workflows, agents, approvals, memory, leases and bad input."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from state_helpers import expect_error, make_run, signed, struct, value

from airspace.state.v1 import state_pb2
from airspace.v1 import agent_registry_pb2, approval_pb2, run_pb2, workflow_pb2

pytestmark = pytest.mark.mesh

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
S = state_pb2


async def test_workflow_versions_through_put_get_list_delete(stub):
    def put(steps):
        spec = workflow_pb2.Workflow(workflow="review", tenant="acme", spec=struct(steps=steps))
        return stub.PutWorkflow(S.PutWorkflowRequest(workflow=spec))

    first = await put(["a"])
    assert first.created and first.workflow.version == 1
    assert not (await put(["a"])).created
    assert (await put(["a", "b"])).workflow.version == 2
    latest = await stub.GetWorkflow(S.GetWorkflowRequest(tenant="acme", workflow="review"))
    assert latest.workflow.version == 2
    listed = await stub.ListWorkflows(S.ListWorkflowsRequest(tenant="acme"))
    assert [(w.workflow, w.version) for w in listed.workflows] == [("review", 2)]

    await stub.DeleteWorkflow(S.DeleteWorkflowRequest(tenant="acme", workflow="review"))
    await expect_error(
        stub.GetWorkflow(S.GetWorkflowRequest(tenant="acme", workflow="review")), NOT_FOUND
    )
    pinned = await stub.GetWorkflow(
        S.GetWorkflowRequest(tenant="acme", workflow="review", version=1)
    )
    assert pinned.workflow == first.workflow
    assert list((await stub.ListWorkflows(S.ListWorkflowsRequest(tenant="acme"))).workflows) == []
    await expect_error(
        stub.DeleteWorkflow(S.DeleteWorkflowRequest(tenant="acme", workflow="review")), NOT_FOUND
    )
    await expect_error(
        stub.GetWorkflow(S.GetWorkflowRequest(tenant="globex", workflow="review", version=1)),
        NOT_FOUND,
    )
    await expect_error(
        stub.GetWorkflow(S.GetWorkflowRequest(tenant="acme", workflow="review", version=-1)),
        INVALID,
        field="version",
    )


async def test_agents_through_put_get_list_delete(stub):
    for name in ("writer", "critic"):
        agent = agent_registry_pb2.Agent(agent=name, tenant="acme", endpoint=f"{name}:50051")
        stored = await stub.PutAgent(S.PutAgentRequest(agent=agent))
        assert stored.agent.name == f"agents/{name}"
    got = await stub.GetAgent(S.GetAgentRequest(tenant="acme", agent="writer"))
    assert got.agent.endpoint == "writer:50051"
    first = await stub.ListAgents(S.ListAgentsRequest(tenant="acme", page_size=1))
    rest = await stub.ListAgents(
        S.ListAgentsRequest(tenant="acme", page_token=first.next_page_token)
    )
    assert [a.agent for a in [*first.agents, *rest.agents]] == ["critic", "writer"]
    await expect_error(stub.GetAgent(S.GetAgentRequest(tenant="globex", agent="writer")), NOT_FOUND)
    await stub.DeleteAgent(S.DeleteAgentRequest(tenant="acme", agent="writer"))
    await expect_error(
        stub.DeleteAgent(S.DeleteAgentRequest(tenant="acme", agent="writer")), NOT_FOUND
    )


async def test_the_registry_watch_says_it_is_live_then_announces_each_change(stub):
    watch = stub.WatchRegistry(S.WatchRegistryRequest())
    assert (await watch.read()).HasField("live")
    spec = workflow_pb2.Workflow(workflow="review", tenant="acme", spec=struct(steps=["a"]))
    await stub.PutWorkflow(S.PutWorkflowRequest(workflow=spec))
    agent = agent_registry_pb2.Agent(agent="writer", tenant="acme", endpoint="writer:50051")
    registered = (await stub.PutAgent(S.PutAgentRequest(agent=agent))).agent
    await stub.DeleteAgent(S.DeleteAgentRequest(tenant="acme", agent="writer"))
    announced = [(await watch.read()).change for _ in range(3)]
    watch.cancel()
    assert announced == [
        S.RegistryChange(kind=S.REGISTRY_KIND_WORKFLOW, tenant="acme", name="review", revision=1),
        S.RegistryChange(
            kind=S.REGISTRY_KIND_AGENT,
            tenant="acme",
            name="writer",
            revision=registered.register_time.ToMicroseconds(),
        ),
        S.RegistryChange(kind=S.REGISTRY_KIND_AGENT, tenant="acme", name="writer"),
    ]


async def test_approvals_create_list_and_decide_once(stub):
    await stub.CreateRun(S.CreateRunRequest(run=make_run("r1")))

    def approval(approval_id, role):
        return approval_pb2.Approval(
            approval_id=approval_id, tenant="acme", run_id="r1", required_role=role, summary="pay?"
        )

    created = await stub.CreateApproval(S.CreateApprovalRequest(approval=approval("ap1", "legal")))
    assert created.approval.state == approval_pb2.APPROVAL_STATE_PENDING
    again = await stub.CreateApproval(S.CreateApprovalRequest(approval=approval("ap1", "ops")))
    assert again.approval == created.approval
    await stub.CreateApproval(S.CreateApprovalRequest(approval=approval("ap2", "finance")))
    legal = await stub.ListApprovals(S.ListApprovalsRequest(tenant="acme", roles=["legal", "ops"]))
    assert [a.approval_id for a in legal.approvals] == ["ap1"]

    decide = S.DecideApprovalRequest(
        tenant="acme",
        approval_id="ap1",
        outcome=run_pb2.APPROVAL_OUTCOME_APPROVED,
        decided_by="user:bob",
        comment="ok",
    )
    decided = await stub.DecideApproval(decide)
    assert decided.approval.state == approval_pb2.APPROVAL_STATE_DECIDED
    assert decided.approval.decided_by == "user:bob"
    await expect_error(
        stub.DecideApproval(decide),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="APPROVAL_ALREADY_DECIDED",
    )
    pending = await stub.ListApprovals(
        S.ListApprovalsRequest(
            tenant="acme", state=approval_pb2.APPROVAL_STATE_PENDING, run_id="r1"
        )
    )
    assert [a.approval_id for a in pending.approvals] == ["ap2"]
    got = await stub.GetApproval(S.GetApprovalRequest(tenant="acme", approval_id="ap1"))
    assert got.approval == decided.approval
    await expect_error(
        stub.GetApproval(S.GetApprovalRequest(tenant="globex", approval_id="ap1")), NOT_FOUND
    )
    edited = S.DecideApprovalRequest(
        tenant="acme",
        approval_id="ap2",
        outcome=run_pb2.APPROVAL_OUTCOME_EDITED,
        decided_by="user:bob",
    )
    await expect_error(stub.DecideApproval(edited), INVALID, field="edited_payload")


async def test_memory_compare_and_set_over_grpc(stub):
    def put(text, **options):
        return stub.PutMemory(
            S.PutMemoryRequest(
                tenant="acme", namespace="workflow/review", key="plan", value=value(text), **options
            )
        )

    first = await put("a", expected_version=0)
    assert first.entry.version == 1
    await expect_error(
        put("b", expected_version=0), grpc.StatusCode.ABORTED, reason="VERSION_MISMATCH"
    )
    second = await put("b", expected_version=1, ttl={"seconds": 60})
    assert second.entry.version == 2 and second.entry.HasField("expire_time")
    got = await stub.GetMemory(
        S.GetMemoryRequest(tenant="acme", namespace="workflow/review", key="plan")
    )
    assert got.entry.value.string_value == "b"
    listed = await stub.ListMemory(
        S.ListMemoryRequest(tenant="acme", namespace="workflow/review", key_prefix="pl")
    )
    assert [e.key for e in listed.entries] == ["plan"]
    await expect_error(
        stub.GetMemory(
            S.GetMemoryRequest(tenant="globex", namespace="workflow/review", key="plan")
        ),
        NOT_FOUND,
    )
    await expect_error(
        stub.DeleteMemory(
            S.DeleteMemoryRequest(
                tenant="acme", namespace="workflow/review", key="plan", expected_version=1
            )
        ),
        grpc.StatusCode.ABORTED,
        reason="VERSION_MISMATCH",
    )
    await stub.DeleteMemory(
        S.DeleteMemoryRequest(tenant="acme", namespace="workflow/review", key="plan")
    )
    await expect_error(
        stub.GetMemory(S.GetMemoryRequest(tenant="acme", namespace="workflow/review", key="plan")),
        NOT_FOUND,
    )
    await expect_error(put("c", ttl={"seconds": -1}), INVALID, field="ttl")
    await expect_error(put("c", expected_version=-1), INVALID, field="expected_version")


async def test_concurrent_compare_and_set_over_grpc_has_one_winner(stub):
    request = S.PutMemoryRequest(tenant="acme", namespace="tenant", key="k", value=value("x"))
    await stub.PutMemory(request)
    request.expected_version = 1
    outcomes = await asyncio.gather(
        *(stub.PutMemory(request) for _ in range(12)), return_exceptions=True
    )
    winners = [o for o in outcomes if isinstance(o, S.PutMemoryResponse)]
    assert [w.entry.version for w in winners] == [2]
    assert all(o.code() == grpc.StatusCode.ABORTED for o in outcomes if o not in winners)


async def test_router_leases_and_claims_over_grpc(stub):
    for run_id in ("r1", "r2"):
        await stub.CreateRun(S.CreateRunRequest(run=make_run(run_id)))
    ttl = {"seconds": 30}
    router_a = await stub.RegisterRouter(S.RegisterRouterRequest(router_id="router-a", ttl=ttl))
    router_b = await stub.RegisterRouter(S.RegisterRouterRequest(router_id="router-b", ttl=ttl))
    assert router_a.epoch == 1 and router_a.HasField("expire_time")
    held = await stub.ClaimRun(S.ClaimRunRequest(run_id="r1", router_id="router-a", epoch=1))
    assert (held.acquired, held.owner, held.fencing_token) == (True, "router-a", 1)
    refused = await stub.ClaimRun(
        S.ClaimRunRequest(run_id="r1", router_id="router-b", epoch=router_b.epoch)
    )
    assert not refused.acquired and refused.owner == "router-a"
    renewed = await stub.RenewRouterLease(
        S.RenewRouterLeaseRequest(router_id="router-a", epoch=1, ttl=ttl)
    )
    assert not renewed.takeover_pending
    claimed = await stub.ClaimRuns(S.ClaimRunsRequest(router_id="router-b", epoch=1))
    assert [(c.run.run_id, c.fencing_token) for c in claimed.runs] == [("r2", 1)]
    await stub.DeregisterRouter(S.DeregisterRouterRequest(router_id="router-a", epoch=1))
    pending = await stub.RenewRouterLease(
        S.RenewRouterLeaseRequest(router_id="router-b", epoch=1, ttl=ttl)
    )
    assert pending.takeover_pending
    claimed = await stub.ClaimRuns(S.ClaimRunsRequest(router_id="router-b", epoch=1, page_size=1))
    [taken] = claimed.runs
    assert (taken.run.run_id, taken.fencing_token, taken.previous_owner) == ("r1", 2, "router-a")
    await stub.ReleaseLease(S.ReleaseLeaseRequest(run_id="r1", owner="router-b", fencing_token=2))
    await expect_error(
        stub.ClaimRun(S.ClaimRunRequest(run_id="nope", router_id="router-b", epoch=1)), NOT_FOUND
    )
    lapsed = S.RenewRouterLeaseRequest(router_id="router-a", epoch=1, ttl=ttl)
    await expect_error(
        stub.RenewRouterLease(lapsed), grpc.StatusCode.FAILED_PRECONDITION, reason="LEASE_NOT_HELD"
    )
    await expect_error(
        stub.ClaimRuns(S.ClaimRunsRequest(router_id="router-b", epoch=1, page_size=-1)),
        INVALID,
        field="page_size",
    )


async def test_the_per_run_lease_calls_of_earlier_releases_are_unimplemented(stub):
    ttl = {"seconds": 30}
    await expect_error(
        stub.AcquireLease(S.AcquireLeaseRequest(run_id="r1", owner="router-a", ttl=ttl)),
        grpc.StatusCode.UNIMPLEMENTED,
    )
    await expect_error(
        stub.ListClaimableRuns(S.ListClaimableRunsRequest()), grpc.StatusCode.UNIMPLEMENTED
    )


MISSING_FIELDS = [
    ("GetRun", S.GetRunRequest(run_id="r1"), "tenant"),
    ("GetRun", S.GetRunRequest(tenant="acme"), "run_id"),
    ("ListRuns", S.ListRunsRequest(), "tenant"),
    ("UpdateRun", S.UpdateRunRequest(tenant="acme"), "run.run_id"),
    ("AppendEvents", S.AppendEventsRequest(tenant="acme"), "run_id"),
    ("ListEvents", S.ListEventsRequest(tenant="acme"), "run_id"),
    (
        "ListEvents",
        S.ListEventsRequest(tenant="acme", run_id="r1", after_sequence=-1),
        "after_sequence",
    ),
    ("GetJournal", S.GetJournalRequest(run_id="r1"), "tenant"),
    (
        "PutWorkflow",
        S.PutWorkflowRequest(workflow={"tenant": "acme", "workflow": "w"}),
        "workflow.spec",
    ),
    ("PutWorkflow", S.PutWorkflowRequest(workflow={"spec": {}}), "workflow.tenant"),
    ("GetWorkflow", S.GetWorkflowRequest(tenant="acme"), "workflow"),
    ("ListWorkflows", S.ListWorkflowsRequest(), "tenant"),
    ("DeleteWorkflow", S.DeleteWorkflowRequest(workflow="w"), "tenant"),
    ("PutAgent", S.PutAgentRequest(agent={"tenant": "acme"}), "agent.agent"),
    ("GetAgent", S.GetAgentRequest(tenant="acme"), "agent"),
    ("ListAgents", S.ListAgentsRequest(tenant="acme", page_size=-1), "page_size"),
    ("DeleteAgent", S.DeleteAgentRequest(agent="a"), "tenant"),
    (
        "CreateApproval",
        S.CreateApprovalRequest(approval={"tenant": "acme"}),
        "approval.approval_id",
    ),
    ("CreateApproval", S.CreateApprovalRequest(approval={"approval_id": "a"}), "approval.run_id"),
    ("GetApproval", S.GetApprovalRequest(tenant="acme"), "approval_id"),
    ("ListApprovals", S.ListApprovalsRequest(), "tenant"),
    ("DecideApproval", S.DecideApprovalRequest(tenant="acme", approval_id="a"), "outcome"),
    ("DecideApproval", S.DecideApprovalRequest(tenant="acme", approval_id="a"), "decided_by"),
    ("GetMemory", S.GetMemoryRequest(tenant="acme", namespace="tenant"), "key"),
    ("GetMemory", S.GetMemoryRequest(tenant="acme", namespace="agents", key="k"), "namespace"),
    ("PutMemory", S.PutMemoryRequest(tenant="acme", namespace="run/r1", key="k"), "value"),
    ("DeleteMemory", S.DeleteMemoryRequest(namespace="tenant", key="k"), "tenant"),
    ("ListMemory", S.ListMemoryRequest(tenant="acme", namespace="run/"), "namespace"),
    ("ListMemory", S.ListMemoryRequest(tenant="acme"), "namespace"),
    ("RegisterRouter", S.RegisterRouterRequest(router_id="a"), "ttl"),
    ("RegisterRouter", S.RegisterRouterRequest(ttl={"seconds": 1}), "router_id"),
    ("RegisterRouter", S.RegisterRouterRequest(router_id="a", ttl={"seconds": -1}), "ttl"),
    ("RenewRouterLease", S.RenewRouterLeaseRequest(router_id="a", epoch=1), "ttl"),
    ("RenewRouterLease", S.RenewRouterLeaseRequest(router_id="a", ttl={"seconds": 1}), "epoch"),
    ("DeregisterRouter", S.DeregisterRouterRequest(epoch=1), "router_id"),
    ("ClaimRun", S.ClaimRunRequest(router_id="a", epoch=1), "run_id"),
    ("ClaimRun", S.ClaimRunRequest(run_id="r1", router_id="a", epoch=-1), "epoch"),
    ("ClaimRuns", S.ClaimRunsRequest(router_id="a"), "epoch"),
    ("ClaimRuns", S.ClaimRunsRequest(router_id="a", epoch=1, min_age={"seconds": -1}), "min_age"),
    ("ReleaseLease", S.ReleaseLeaseRequest(run_id="r1"), "owner"),
    (
        "CreateRun",
        S.CreateRunRequest(run={"run_id": "r", "tenant": "t", "request_id": "q", "state": 99}),
        "run.state",
    ),
    (
        "CreateRun",
        S.CreateRunRequest(
            run={"run_id": "r", "tenant": "t", "request_id": "q"}, claim={"epoch": 1}
        ),
        "claim.router_id",
    ),
    (
        "CreateRun",
        S.CreateRunRequest(
            run={"run_id": "r", "tenant": "t", "request_id": "q"},
            claim={"router_id": "a", "epoch": -1},
        ),
        "claim.epoch",
    ),
    ("ListRuns", S.ListRunsRequest(tenant="acme", state=42), "state"),
    (
        "UpdateRun",
        S.UpdateRunRequest(
            tenant="acme",
            run={"run_id": "r"},
            update_mask={"paths": ["labels"]},
            expected_states=[1, 77],
        ),
        "expected_states[1]",
    ),
    ("ListApprovals", S.ListApprovalsRequest(tenant="acme", state=9), "state"),
    (
        "DecideApproval",
        S.DecideApprovalRequest(tenant="acme", approval_id="a", decided_by="u", outcome=12),
        "outcome",
    ),
]


@pytest.mark.parametrize(
    ("method", "request_", "field"),
    MISSING_FIELDS,
    ids=[f"{method}-{field}" for method, _, field in MISSING_FIELDS],
)
async def test_bad_input_names_the_field(stub, method, request_, field):
    await expect_error(getattr(stub, method)(request_), INVALID, field=field)


async def test_watch_without_a_tenant_names_the_field(stub):
    call = stub.WatchEvents(S.WatchEventsRequest(run_id="r1"), metadata=signed(), timeout=30)
    await expect_error(call.read(), INVALID, field="tenant")
