"""An Airspace workflow served as an A2A agent, called with the a2a-sdk package's own client."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from a2a.client import ClientCallContext, ClientConfig, ClientFactory, minimal_agent_card
from a2a.helpers.proto_helpers import get_artifact_text
from a2a.types import a2a_pb2
from a2a.utils.constants import TransportProtocol
from google.protobuf import json_format
from mesh_support import apply, register

from airspace.a2a_bridge.main import build
from airspace.a2a_bridge.settings import BridgeSettings
from airspace.agents.kit import Agent, Reply
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh

WORKFLOW = """
name: greet-and-check
description: Greets a customer and checks the greeting.
pattern: sequential
steps:
  - {name: greet, agent: greeter}
  - {name: check, agent: checker}
"""


def greeter(gate: asyncio.Event) -> Agent:
    agent = Agent(name="greeter", version="1.0.0", description="greets")

    @agent.handler
    async def greet(task):
        await task.progress("choosing words", 0.5)
        await gate.wait()  # lets a test cancel the run while it is in this step
        return Reply(text=f"Hello, {task.text}!", data={"customer": task.data.get("customer")})

    return agent


def checker() -> Agent:
    agent = Agent(name="checker", version="1.0.0", description="checks")

    @agent.handler
    async def check(task):
        return Reply(text=task.text, data={"polite": "Hello" in task.text}, confidence=0.9)

    return agent


@pytest.fixture
async def bridge(mesh):
    """The mesh running the workflow, the bridge serving it, and an operator's API key."""
    operator = mesh.client()
    gate = asyncio.Event()
    gate.set()
    for agent in (greeter(gate), checker()):
        await register(operator, await mesh.serve_agent(agent))
    await apply(operator, WORKFLOW)
    srv = build(
        BridgeSettings(gateway_endpoint=mesh.gateway, workflow="greet-and-check", grace_seconds=0.2)
    )
    port = await srv.start()
    key = mesh.keys.create("user:ada", "acme", ("operator",))
    yield f"127.0.0.1:{port}", key, gate, operator
    await srv.stop(0.2)


async def a2a_client(endpoint: str):
    """The a2a-sdk client over gRPC, bootstrapped from the endpoint alone (no HTTP card)."""
    config = ClientConfig(
        streaming=True,
        supported_protocol_bindings=[TransportProtocol.GRPC],
        grpc_channel_factory=grpc.aio.insecure_channel,
    )
    return ClientFactory(config).create(minimal_agent_card(endpoint, [TransportProtocol.GRPC]))


def credentials(key: str) -> ClientCallContext:
    return ClientCallContext(service_parameters={"authorization": f"Bearer {key}"})


def message(text: str, **data) -> a2a_pb2.SendMessageRequest:
    parts = [a2a_pb2.Part(text=text)]
    if data:
        part = a2a_pb2.Part()
        part.data.struct_value.update(data)
        parts.append(part)
    return a2a_pb2.SendMessageRequest(
        message=a2a_pb2.Message(message_id=f"m-{text}", role=a2a_pb2.ROLE_USER, parts=parts)
    )


async def test_the_card_describes_the_workflow(bridge):
    endpoint, key, _, _ = bridge
    client = await a2a_client(endpoint)
    card = await client.get_extended_agent_card(
        a2a_pb2.GetExtendedAgentCardRequest(), context=credentials(key)
    )
    await client.close()
    assert (card.name, card.version) == ("greet-and-check", "1")
    assert card.description == "Greets a customer and checks the greeting."
    assert card.capabilities.streaming
    assert card.supported_interfaces[0].url == endpoint
    assert card.supported_interfaces[0].protocol_binding == "GRPC"
    skill = card.skills[0]
    assert skill.id == "greet-and-check" and {"sequential", "greeter", "checker"} <= set(skill.tags)


async def test_an_a2a_client_runs_the_workflow_and_gets_its_output(bridge):
    endpoint, key, _, operator = bridge
    client = await a2a_client(endpoint)
    await client.get_extended_agent_card(
        a2a_pb2.GetExtendedAgentCardRequest(), context=credentials(key)
    )
    responses = [
        r
        async for r in client.send_message(
            message("Ada", customer="c-42"), context=credentials(key)
        )
    ]
    await client.close()

    states = [r.status_update.status.state for r in responses if r.HasField("status_update")]
    assert states[0] == a2a_pb2.TASK_STATE_WORKING and states[-1] == a2a_pb2.TASK_STATE_COMPLETED
    said = [
        r.status_update.status.message.parts[0].text
        for r in responses
        if r.HasField("status_update") and r.status_update.status.message.parts
    ]
    assert "greeter: choosing words" in said and "check: checker is done" in said
    artifact = next(r.artifact_update.artifact for r in responses if r.HasField("artifact_update"))
    assert get_artifact_text(artifact) == "Hello, Ada!"
    data = json_format.MessageToDict(artifact.parts[1].data)
    assert data["agent"] == "checker" and data["data"] == {"polite": True}

    run_id = json_format.MessageToDict(responses[-1].status_update.metadata)["airspace_run_id"]
    run = (
        await operator.runs.GetRun(run_pb2.GetRunRequest(run_id=run_id), metadata=operator.metadata)
    ).run
    assert run.state == run_pb2.RUN_STATE_COMPLETED
    assert run.created_by == "user:ada", "the run belongs to the A2A caller, not to the bridge"
    assert run.labels["a2a_task_id"] == responses[0].task.id
    assert json_format.MessageToDict(run.input) == {"text": "Ada", "customer": "c-42"}


async def test_a_caller_without_credentials_is_asked_to_authenticate(bridge):
    endpoint, _, _, _ = bridge
    client = await a2a_client(endpoint)  # its card, unfetched, does not stream: a blocking call
    responses = [r async for r in client.send_message(message("Eve"))]
    await client.close()
    status = responses[-1].task.status
    assert status.state == a2a_pb2.TASK_STATE_AUTH_REQUIRED
    assert "UNAUTHENTICATED" in status.message.parts[0].text


async def test_canceling_the_a2a_task_cancels_the_run(bridge):
    endpoint, key, gate, operator = bridge
    gate.clear()  # the run waits in its first step
    client = await a2a_client(endpoint)
    await client.get_extended_agent_card(
        a2a_pb2.GetExtendedAgentCardRequest(), context=credentials(key)
    )
    stream = client.send_message(message("Bob"), context=credentials(key))
    task_id = run_id = ""
    said = []
    async for response in stream:
        if response.HasField("task"):
            task_id = response.task.id
        metadata = json_format.MessageToDict(response.status_update.metadata)
        run_id = run_id or metadata.get("airspace_run_id", "")
        said.append(str(response.status_update.status.message))
        if run_id and "choosing words" in said[-1]:
            break
    # The agent's progress arrives while its first attempt runs, not after that attempt
    # timed out and a retry began.
    assert not any("attempt 2" in text for text in said)
    await stream.aclose()
    canceled = await client.cancel_task(
        a2a_pb2.CancelTaskRequest(id=task_id), context=credentials(key)
    )
    await client.close()
    gate.set()
    assert canceled.status.state == a2a_pb2.TASK_STATE_CANCELED
    run = (
        await operator.runs.GetRun(run_pb2.GetRunRequest(run_id=run_id), metadata=operator.metadata)
    ).run
    assert run.state == run_pb2.RUN_STATE_CANCELED
