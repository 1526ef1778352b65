"""Through the gateway with real agent servers: a step's input mapping `fields` and a handoff
edge's `fields` policy bound all the receiving agent gets. A salary the first agent wrote
(in its text and in a data field the workflow leaves out) never reaches the next agent,
neither in its input, nor in its context, nor in the handoff message."""

from __future__ import annotations

import json

import pytest
from governance_support import deploy, ending, execute

from airspace.agents.kit import Agent, Handoff, Reply
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh

SALARY = "98000"


def writer(name: str, **extra) -> Agent:
    agent = Agent(name=name, version="1.0.0", description="writes a record", **extra)

    @agent.handler
    async def write(task):
        data = {"parties": ["Acme", "Globex"], "account": "A-17", "salary": SALARY}
        if extra:
            return Handoff(target="billing", reason="billing", text=f"salary {SALARY}", data=data)
        return Reply(text=f"Acme pays {SALARY}", data=data)

    return agent


def receiver(name: str, seen: list) -> Agent:
    agent = Agent(name=name, version="1.0.0", description="records what it received")

    @agent.handler
    async def receive(task):
        seen.append({"text": task.text, "data": task.data, "context": task.context_data})
        seen.append([message.text for message in task.context])
        return Reply(text="done")

    return agent


async def test_a_field_mapping_keeps_the_rest_of_the_earlier_output_out_of_the_context(mesh):
    client, seen = mesh.client(), []
    workflow = """
name: mapped
pattern: sequential
steps:
  - {name: extract, agent: extractor}
  - {name: check, agent: checker, input: {from: extract, fields: [parties]}}
"""
    await deploy(mesh, client, workflow, writer("extractor"), receiver("checker", seen))
    assert ending(await execute(client, "mapped", {"text": "a contract"})).to == (
        run_pb2.RUN_STATE_COMPLETED
    )
    received, context_texts = seen
    assert received["data"] == {"parties": ["Acme", "Globex"]}
    assert received["context"] == {"parties": ["Acme", "Globex"]}
    assert SALARY not in json.dumps([received, context_texts])


async def test_an_edges_fields_bound_the_handoff_message_the_target_receives(mesh):
    client, seen = mesh.client(), []
    workflow = """
name: support
pattern: handoff
entry: triage
agents: [{agent: triage}, {agent: billing}]
edges:
  - {from: triage, to: [billing], context: {mode: fields, fields: [account]}}
"""
    await deploy(mesh, client, workflow, writer("triage", handoff=True), receiver("billing", seen))
    events = await execute(client, "support", {"text": "charged twice"})
    assert ending(events).to == run_pb2.RUN_STATE_COMPLETED
    received, context_texts = seen
    assert received["data"] == {"account": "A-17"}
    assert SALARY not in json.dumps([received, context_texts])
