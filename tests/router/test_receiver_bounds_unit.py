"""An input mapping's `fields` and a handoff edge's `fields` policy bound everything the
receiving agent gets: its input, its context and the handoff message, never only one of
them. What each agent actually received (its InvokeStart) is checked."""

from __future__ import annotations

import json

import pytest
from harness import answers

from airspace.agent.v1 import agent_pb2
from airspace.router.agent_invoker import OnAction
from airspace.router.convert import build_message, to_dict, to_struct
from airspace.v1 import run_pb2

pytestmark = pytest.mark.unit

SECRET = "salary 98000"
EXTRACTED = {"parties": ["Acme", "Globex"], "salary": SECRET}


def received(start: agent_pb2.InvokeStart) -> str:
    """Everything the agent was given, as one text to search."""
    messages = [start.input, *start.context]
    return json.dumps(
        [
            [part.text if part.HasField("text") else to_dict(part.data) for part in m.parts]
            for m in messages
        ]
    )


MAPPED = """
name: mapped
pattern: sequential
steps:
  - {name: extract, agent: extractor}
  - {name: check, agent: checker, input: {from: extract, fields: [parties]}}
"""


async def test_a_steps_field_mapping_bounds_its_context_as_well_as_its_input(router):
    await router.register("extractor", answers(f"parties Acme and Globex, {SECRET}", **EXTRACTED))
    await router.register("checker", answers("compliant"))
    run = await router.run(MAPPED, "the contract")
    assert run.state == run_pb2.RUN_STATE_COMPLETED
    check = router.agents.calls[1]
    assert [to_dict(p.data) for p in check.input.parts] == [{"parties": ["Acme", "Globex"]}]
    assert len(check.context) == 1, "the earlier output is still there, bounded"
    assert "salary" not in received(check) and "98000" not in received(check)


async def test_a_step_without_fields_still_sees_every_earlier_output(router):
    await router.register("extractor", answers(f"parties Acme and Globex, {SECRET}", **EXTRACTED))
    await router.register("checker", answers("compliant"))
    document = MAPPED.replace("input: {from: extract, fields: [parties]}", "input: {from: run}")
    await router.run(document, "the contract")
    check = router.agents.calls[1]
    assert SECRET in received(check), "no fields named: the context is not filtered"


HANDOFF = """
name: support
pattern: handoff
entry: triage
agents: [{agent: triage}, {agent: billing}]
edges:
  - {from: triage, to: [billing], context: {mode: fields, fields: [account]}}
"""


def handing_over_with(text: str, data: dict):
    """Hands off with a message and data of its own for the target."""

    async def behaviour(start: agent_pb2.InvokeStart, act: OnAction) -> agent_pb2.InvokeEvent:
        request = agent_pb2.HandoffRequest(
            target="billing",
            reason="billing question",
            message=build_message(agent_pb2.ROLE_AGENT, "triage", text),
            data=to_struct(data),
        )
        return agent_pb2.InvokeEvent(handoff=request)

    return behaviour


async def test_a_handoff_edges_fields_bound_the_handoff_message_as_well_as_the_context(router):
    await router.register(
        "triage", handing_over_with(f"customer says {SECRET}", {"account": "A-17", "note": SECRET})
    )
    await router.register("billing", answers("refunded"))
    run = await router.run(HANDOFF, f"I was charged twice, {SECRET}")
    assert run.state == run_pb2.RUN_STATE_COMPLETED
    billing = router.agents.calls[1]
    assert [to_dict(p.data) for p in billing.input.parts] == [{"account": "A-17"}]
    assert "98000" not in received(billing) and "note" not in received(billing)


async def test_a_full_edge_hands_the_message_over_as_the_agent_wrote_it(router):
    await router.register(
        "triage", handing_over_with(f"customer says {SECRET}", {"account": "A-17"})
    )
    await router.register("billing", answers("refunded"))
    await router.run(HANDOFF.replace("{mode: fields, fields: [account]}", "{mode: full}"), "hi")
    assert f"customer says {SECRET}" in received(router.agents.calls[1])
