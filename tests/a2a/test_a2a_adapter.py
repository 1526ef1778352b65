"""The router calls an agent that speaks A2A's gRPC binding, served by the a2a-sdk package."""

from __future__ import annotations

import grpc
import pytest
from a2a_agents import GlossaryExecutor, glossary_card, wait_for
from google.protobuf import json_format, struct_pb2
from mesh_support import apply, collect_events

from airspace.agent.v1 import agent_pb2
from airspace.agents.kit import Agent, Reply
from airspace.v1 import agent_registry_pb2, run_pb2

pytestmark = pytest.mark.mesh

QUESTION = "What do indemnity and force majeure mean in this contract?"
WORKFLOW = """
name: explain-terms
pattern: sequential
steps:
  - {name: define, agent: glossary-agent, retry: {max_attempts: 2, initial_backoff: 10ms}}
  - {name: answer, agent: answer-writer}
"""


def answer_writer(seen: list) -> Agent:
    """A Python agent after the A2A one: records what it was given."""
    agent = Agent(name="answer-writer", version="1.0.0", description="writes the answer")

    @agent.handler
    async def write(task):
        seen.append((task.text, dict(task.data)))
        return Reply(text=f"In short: {task.text}", data={"answered": True})

    return agent


async def register_a2a(client, endpoint: str) -> agent_registry_pb2.Agent:
    response = await client.agents.RegisterAgent(
        agent_registry_pb2.RegisterAgentRequest(
            endpoint=endpoint, protocol=agent_registry_pb2.AGENT_PROTOCOL_A2A
        ),
        metadata=client.metadata,
    )
    return response.agent


async def execute(client, text: str) -> list:
    run_input = struct_pb2.Struct()
    run_input.update({"text": text})
    return await collect_events(
        client.runs.ExecuteRun(
            run_pb2.ExecuteRunRequest(workflow="explain-terms", input=run_input),
            metadata=client.metadata,
        )
    )


@pytest.fixture
async def explain(mesh, a2a_server):
    """A workflow whose first step is an A2A agent and whose second is a Python agent."""
    client = mesh.client()
    glossary, seen = GlossaryExecutor(), []
    registered = await register_a2a(client, await a2a_server(glossary, glossary_card()))
    await client.agents.RegisterAgent(
        agent_registry_pb2.RegisterAgentRequest(
            endpoint=await mesh.serve_agent(answer_writer(seen))
        ),
        metadata=client.metadata,
    )
    await apply(client, WORKFLOW)
    return client, glossary, seen, registered


async def test_an_a2a_agent_registers_with_its_agent_card_translated(explain):
    _, _, _, registered = explain
    assert registered.protocol == agent_registry_pb2.AGENT_PROTOCOL_A2A
    assert registered.agent == "glossary-agent"
    card = registered.card
    assert (card.version, card.runtime, card.provider) == ("2.1.0", "a2a", "Lexicon Inc")
    assert [(s.id, list(s.tags), list(s.examples)) for s in card.skills] == [
        ("define", ["legal", "glossary"], ["What does indemnity mean?"])
    ]
    assert list(card.output_modes) == ["text/plain", "application/json"]
    assert card.capabilities.streaming and not card.capabilities.handoff
    assert not card.clearances, "an A2A agent is cleared for no protected data"


async def test_the_router_runs_an_a2a_agent_as_a_workflow_step(explain):
    client, glossary, seen, _ = explain
    events = await execute(client, QUESTION)
    assert events[-1].run_state_changed.to == run_pb2.RUN_STATE_COMPLETED, events[-1]
    completed = [e for e in events if e.HasField("step_completed")]
    assert [e.agent for e in completed] == ["glossary-agent", "answer-writer"]
    output = completed[0].step_completed.output
    assert "indemnity: a promise to cover another party's losses" in output.message.parts[0].text
    definitions = json_format.MessageToDict(output.data)["definitions"]
    assert set(definitions) == {"indemnity", "force majeure"}

    progress = [e.agent_progress.progress for e in events if e.HasField("agent_progress")]
    assert [(p.state, p.message) for p in progress][-1] == (
        agent_pb2.TASK_STATE_WORKING,
        "looking terms up",
    )
    assert any(e.HasField("partial_output") for e in events), "artifact updates stream as partials"
    assert seen[0][0].startswith("indemnity:") and "definitions" in seen[0][1]

    sent = glossary.received[0]
    assert sent.context_id == events[0].run_id, "the run is the A2A context"
    metadata = json_format.MessageToDict(sent.metadata)["airspace"]
    assert metadata["step_key"] == completed[0].step_key and metadata["attempt"] == 1


@pytest.mark.parametrize(
    ("question", "code", "said"),
    [
        ("Who won the football?", "AGENT_REJECTED", "I only know contract terms"),
        ("Explain this clause", "AGENT_INPUT_REQUIRED", "which term?"),
    ],
    ids=["rejected", "input-required"],
)
async def test_a2a_task_states_become_step_outcomes(explain, question, code, said):
    client, glossary, _, _ = explain
    events = await execute(client, question)
    failed = [e.step_failed for e in events if e.HasField("step_failed")]
    assert len(failed) == 1 and not failed[0].will_retry, "the agent's own refusal is not retried"
    assert failed[0].error.message.startswith(code) and said in failed[0].error.message
    assert events[-1].run_state_changed.to == run_pb2.RUN_STATE_FAILED
    if code == "AGENT_INPUT_REQUIRED":  # a step cannot answer: the waiting task is canceled
        await wait_for(lambda: len(glossary.canceled) == 1)


async def test_an_a2a_agent_that_does_not_stream_is_sent_a_blocking_message(mesh, a2a_server):
    client = mesh.client()
    endpoint = await a2a_server(GlossaryExecutor(), glossary_card(streaming=False))
    await register_a2a(client, endpoint)
    await client.agents.RegisterAgent(
        agent_registry_pb2.RegisterAgentRequest(endpoint=await mesh.serve_agent(answer_writer([]))),
        metadata=client.metadata,
    )
    await apply(client, WORKFLOW)
    events = await execute(client, QUESTION)
    assert events[-1].run_state_changed.to == run_pb2.RUN_STATE_COMPLETED, events[-1]
    assert not any(e.HasField("agent_progress") for e in events), "no stream, no progress"


async def test_an_a2a_agent_without_a_card_over_grpc_is_refused(mesh, a2a_server):
    client = mesh.client()
    endpoint = await a2a_server(GlossaryExecutor(), glossary_card(extended=False))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await register_a2a(client, endpoint)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "extended_agent_card" in refused.value.details()
