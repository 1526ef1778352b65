"""The public API through the gateway: bad input, authentication, tenancy, reflection, failures."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from mesh_support import (
    ECHO,
    apply,
    collect_events,
    echo_agent,
    register,
    text_input,
    violations,
)

from airspace.agents.kit import Agent, AgentFailure, Reply
from airspace.mesh import identity
from airspace.v1 import agent_registry_pb2, run_pb2, workflow_pb2

pytestmark = pytest.mark.mesh


@pytest.fixture
async def echo_mesh(mesh):
    client = mesh.client()
    await register(client, await mesh.serve_agent(echo_agent()))
    await apply(client, ECHO)
    return mesh, client


async def test_an_unknown_workflow_is_not_found(echo_mesh):
    _, client = echo_mesh
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await client.runs.StartRun(
            run_pb2.StartRunRequest(workflow="nope"), metadata=client.metadata
        )
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND
    assert "nope" in failure.value.details()


async def test_a_run_request_without_a_workflow_names_the_field(echo_mesh):
    _, client = echo_mesh
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await client.runs.StartRun(run_pb2.StartRunRequest(), metadata=client.metadata)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "workflow" in violations(failure.value)


@pytest.mark.parametrize(
    ("source", "field"),
    [
        ("name: [unclosed", "source"),
        ("- just\n- a list", "source"),
        ("name: x\npattern: sequential\n", "steps"),
        ("pattern: sequential\nsteps: [{name: a, agent: echo}]", "name"),
        ("name: x\npattern: zigzag\nsteps: [{name: a, agent: echo}]", "pattern"),
        ("name: x\npattern: sequential\nsteps: [{name: a}]", "steps[0].agent"),
        (
            "name: x\npattern: sequential\nsteps: [{name: a, agent: echo}, {name: b, agent: ghost}]",
            "steps[1].agent",
        ),
        (
            "name: x\npattern: sequential\nsteps: [{name: a, agent: echo, timeout: soon}]",
            "steps[0].timeout",
        ),
        (
            "name: x\npattern: sequential\nsteps: [{name: a, agent: echo, retyr: {}}]",
            "steps[0].retyr",
        ),
    ],
    ids=[
        "bad-yaml",
        "not-a-mapping",
        "no-steps",
        "no-name",
        "bad-pattern",
        "no-agent",
        "unknown-agent",
        "bad-timeout",
        "typo",
    ],
)
async def test_a_bad_workflow_is_refused_with_the_path_of_the_problem(echo_mesh, source, field):
    _, client = echo_mesh
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await apply(client, source)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations(failure.value), violations(failure.value)


async def test_workflow_versions_are_immutable_and_identical_documents_are_not_new(echo_mesh):
    _, client = echo_mesh
    again = await client.workflows.CreateWorkflow(
        workflow_pb2.CreateWorkflowRequest(source=ECHO), metadata=client.metadata
    )
    assert (again.workflow.version, again.created) == (1, False)
    changed = await apply(client, ECHO.replace("second", "third"))
    assert changed.version == 2
    first = await client.workflows.GetWorkflow(
        workflow_pb2.GetWorkflowRequest(workflow="echo-twice", version=1), metadata=client.metadata
    )
    assert "second" in first.workflow.source


async def test_registering_an_unreachable_agent_says_so(echo_mesh):
    _, client = echo_mesh
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await client.agents.RegisterAgent(
            agent_registry_pb2.RegisterAgentRequest(endpoint="127.0.0.1:1"),
            metadata=client.metadata,
        )
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "127.0.0.1:1" in failure.value.details()
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await client.agents.RegisterAgent(
            agent_registry_pb2.RegisterAgentRequest(endpoint="not an endpoint"),
            metadata=client.metadata,
        )
    assert "endpoint" in violations(failure.value)


async def test_a_run_completes_and_each_output_feeds_the_next_step(echo_mesh):
    _, client = echo_mesh
    events = await collect_events(
        client.runs.ExecuteRun(
            run_pb2.ExecuteRunRequest(workflow="echo-twice", input=text_input("hello")),
            metadata=client.metadata,
        )
    )
    outputs = [e.step_completed.output for e in events if e.HasField("step_completed")]
    assert [o.data["seen"] for o in outputs] == ["hello", "hello"]
    assert events[-1].run_state_changed.to == run_pb2.RUN_STATE_COMPLETED


async def test_a_run_whose_agent_went_away_fails_with_a_clear_reason(mesh):
    client = mesh.client()
    agent_server_address = await mesh.serve_agent(echo_agent())
    await register(client, agent_server_address)
    await apply(
        client,
        ECHO.replace(
            "{name: first, agent: echo}",
            "{name: first, agent: echo, retry: {max_attempts: 2, initial_backoff: 10ms}}",
        ),
    )
    await mesh.servers[-1].stop(0)  # the agent server
    events = await collect_events(
        client.runs.ExecuteRun(
            run_pb2.ExecuteRunRequest(workflow="echo-twice"), metadata=client.metadata
        )
    )
    failures = [e.step_failed for e in events if e.HasField("step_failed")]
    assert [f.will_retry for f in failures] == [True, False]
    assert "unreachable" in failures[-1].error.message
    final = events[-1].run_state_changed
    assert final.to == run_pb2.RUN_STATE_FAILED
    assert "s0001-first" in final.error.message and "echo" in final.error.message


async def test_a_retryable_failure_is_retried_with_the_same_idempotency_key(mesh):
    client = mesh.client()
    flaky = Agent(name="flaky", version="1.0.0")
    seen = []

    @flaky.handler
    async def handle(task):
        seen.append((task.attempt, task.idempotency_key))
        if task.attempt == 1:
            raise AgentFailure("DEPENDENCY", "the backend blinked", retryable=True)
        return Reply(text="ok")

    await register(client, await mesh.serve_agent(flaky))
    await apply(
        client,
        "name: flaky-once\npattern: sequential\nsteps: [{name: only, agent: flaky, retry: {initial_backoff: 10ms}}]",
    )
    events = await collect_events(
        client.runs.ExecuteRun(
            run_pb2.ExecuteRunRequest(workflow="flaky-once"), metadata=client.metadata
        )
    )
    assert [attempt for attempt, _ in seen] == [1, 2]
    assert seen[0][1] == seen[1][1]
    assert any(e.HasField("retry_scheduled") for e in events)
    assert events[-1].run_state_changed.to == run_pb2.RUN_STATE_COMPLETED


async def test_a_failed_step_falls_back_to_its_fallback_agent(mesh):
    client = mesh.client()
    broken = Agent(name="broken", version="1.0.0")

    @broken.handler
    async def fail(task):
        raise AgentFailure("REJECTED", "cannot do this", retryable=False)

    await register(client, await mesh.serve_agent(broken))
    await register(client, await mesh.serve_agent(echo_agent("backup")))
    await apply(
        client,
        "name: with-fallback\npattern: sequential\nsteps: [{name: only, agent: broken, fallback_agent: backup}]",
    )
    events = await collect_events(
        client.runs.ExecuteRun(
            run_pb2.ExecuteRunRequest(workflow="with-fallback"), metadata=client.metadata
        )
    )
    fallback = [
        e.routing_decision
        for e in events
        if e.HasField("routing_decision")
        and e.routing_decision.kind == run_pb2.ROUTING_KIND_FALLBACK
    ]
    assert fallback and fallback[0].chosen == "backup" and "cannot do this" in fallback[0].reason
    assert [e.agent for e in events if e.HasField("step_completed")] == ["backup"]


async def test_canceling_a_run_stops_its_agent_call(mesh):
    import asyncio

    client = mesh.client()
    slow = Agent(name="slow", version="1.0.0")
    started, cancelled = asyncio.Event(), asyncio.Event()

    @slow.handler
    async def wait(task):
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return Reply(text="late")

    await register(client, await mesh.serve_agent(slow))
    await apply(client, "name: slow-one\npattern: sequential\nsteps: [{name: only, agent: slow}]")
    run = (
        await client.runs.StartRun(
            run_pb2.StartRunRequest(workflow="slow-one"), metadata=client.metadata
        )
    ).run
    await asyncio.wait_for(started.wait(), 5)
    canceled = (
        await client.runs.CancelRun(
            run_pb2.CancelRunRequest(run_id=run.run_id, reason="changed my mind"),
            metadata=client.metadata,
        )
    ).run
    assert canceled.state == run_pb2.RUN_STATE_CANCELED
    await asyncio.wait_for(cancelled.wait(), 5)
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await client.runs.CancelRun(
            run_pb2.CancelRunRequest(run_id="x" * 32), metadata=client.metadata
        )
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND


async def test_requests_without_valid_credentials_are_refused(echo_mesh):
    mesh, client = echo_mesh
    forged = identity.sign(
        identity.Identity("user:mallory", "acme", ("admin",)), b"not-the-mesh-key-not-the-mesh-key"
    )
    real = identity.sign(identity.Identity("user:mallory", "acme", ("admin",)), mesh.key)
    attempts = [
        (),
        (("authorization", "Bearer ask_000000000000_wrong"),),
        ((identity.METADATA_KEY, forged),),
        (
            (identity.METADATA_KEY, real),
        ),  # even a validly signed header is not accepted from a client
    ]
    for metadata in attempts:
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await client.runs.ListRuns(run_pb2.ListRunsRequest(), metadata=metadata)
        assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_client_sent_identity_header_is_dropped_not_trusted(echo_mesh):
    mesh, client = echo_mesh
    viewer = mesh.client("user:vera", "acme", ("viewer",))
    smuggled = identity.sign(identity.Identity("user:vera", "acme", ("admin",)), mesh.key)
    metadata = (*viewer.metadata, (identity.METADATA_KEY, smuggled), ("x-airspace-tenant", "other"))
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await viewer.runs.StartRun(
            run_pb2.StartRunRequest(workflow="echo-twice"), metadata=metadata
        )
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_another_tenant_cannot_see_or_touch_a_run(echo_mesh):
    mesh, client = echo_mesh
    run = (
        await client.runs.StartRun(
            run_pb2.StartRunRequest(workflow="echo-twice"), metadata=client.metadata
        )
    ).run
    outsider = mesh.client("user:eve", "globex", ("admin",))
    for call, request in (
        (outsider.runs.GetRun, run_pb2.GetRunRequest(run_id=run.run_id)),
        (outsider.runs.CancelRun, run_pb2.CancelRunRequest(run_id=run.run_id)),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await call(request, metadata=outsider.metadata)
        assert failure.value.code() == grpc.StatusCode.NOT_FOUND
    listed = await outsider.runs.ListRuns(run_pb2.ListRunsRequest(), metadata=outsider.metadata)
    assert list(listed.runs) == []


async def test_the_gateway_serves_health_and_reflection_by_method_name(echo_mesh):
    mesh, _ = echo_mesh
    async with grpc.aio.insecure_channel(mesh.gateway) as channel:
        health = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="airspace.v1.RunService")
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        requests = [
            reflection_pb2.ServerReflectionRequest(list_services=""),
            reflection_pb2.ServerReflectionRequest(
                file_containing_symbol="airspace.v1.RunService.ExecuteRun"
            ),
        ]
        replies = [r async for r in reflection.ServerReflectionInfo(iter(requests))]
    listed = {s.name for s in replies[0].list_services_response.service}
    assert {
        "airspace.v1.RunService",
        "airspace.v1.WorkflowService",
        "airspace.v1.AuditService",
    } <= listed
    assert replies[1].file_descriptor_response.file_descriptor_proto
