"""Payloads and context items: their dict form (what policy, conditions and run outputs
read), the agent contract's messages, and outputs read back from the journal."""

from __future__ import annotations

import pytest
from harness import final

from airspace.agent.v1 import agent_pb2
from airspace.router.agent_invoker import OnAction
from airspace.router.convert import message_text, to_dict, to_struct
from airspace.router.payload import ContextItem, Payload
from airspace.state.v1 import state_pb2
from airspace.v1 import run_pb2

pytestmark = pytest.mark.unit

DATA = {"total": 12.5, "lines": ["a", "b"], "paid": False, "customer": {"name": "Ada"}}


def agent_output(
    text: str, data: dict[str, object], confidence: float | None
) -> agent_pb2.FinalOutput:
    output = agent_pb2.FinalOutput(
        message=agent_pb2.Message(author="writer", parts=[agent_pb2.Part(text=text)]),
        data=to_struct(data),
    )
    if confidence is not None:
        output.confidence = confidence
    return output


@pytest.mark.parametrize("confidence", [0.25, None])
def test_the_dict_form_round_trips(confidence: float | None) -> None:
    payload = Payload("draft", DATA, confidence)
    assert Payload.from_dict(payload.to_dict()) == payload


def test_the_dict_form_names_confidence_only_when_there_is_one() -> None:
    assert Payload("draft", DATA, 0.5).to_dict() == {
        "text": "draft",
        "data": DATA,
        "confidence": 0.5,
    }
    assert Payload("draft", DATA).to_dict() == {"text": "draft", "data": DATA}


@pytest.mark.parametrize("role", [agent_pb2.ROLE_USER, None])
def test_a_context_item_round_trips_through_its_dict_form(role: agent_pb2.Role | None) -> None:
    item = ContextItem("reviewer", Payload("looks good", DATA, 0.9), role)
    assert ContextItem.from_dict(item.to_dict()) == item
    assert ("role" in item.to_dict()) == (role is not None)


def test_a_context_item_without_a_role_reaches_the_agent_as_an_agents_message() -> None:
    message = ContextItem("classifier", Payload("urgent", {"label": "urgent"})).message()
    assert message.role == agent_pb2.ROLE_AGENT
    assert message.author == "classifier"
    assert message_text(message) == "urgent"
    assert to_dict(message.parts[1].data) == {"label": "urgent"}


def test_a_run_input_is_its_text_and_the_rest_as_data() -> None:
    payload = Payload.of_run_input({"text": "summarize", "language": "fr"})
    assert payload == Payload("summarize", {"language": "fr"})


def test_a_step_input_keeps_only_the_named_fields_and_drops_the_confidence() -> None:
    output = Payload("answer", {"a": 1, "b": 2}, 0.7)
    assert output.as_input(("a", "missing")) == Payload("", {"a": 1})
    assert output.as_input() == Payload("answer", {"a": 1, "b": 2})


def test_an_agents_output_is_its_text_data_and_rounded_confidence() -> None:
    payload = Payload.of_output(agent_output("done", DATA, 0.876543))
    assert payload.to_dict() == {"text": "done", "data": DATA, "confidence": 0.8765}
    assert Payload.of_output(agent_output("done", DATA, None)).confidence is None


@pytest.mark.parametrize("confidence", [0.876543, None])
def test_a_journaled_output_reads_back_the_same_payload(confidence: float | None) -> None:
    output = agent_output("done", DATA, confidence)
    entry = state_pb2.JournalEntry(step_key="s1:write", agent="writer", output=output)
    stored = state_pb2.JournalEntry.FromString(entry.SerializeToString())
    assert Payload.of_output(stored.output) == Payload.of_output(output)


async def test_a_replayed_step_gives_the_output_its_reviewer_saw(router):
    async def writer(start: agent_pb2.InvokeStart, act: OnAction) -> agent_pb2.InvokeEvent:
        return final("draft", 0.876543, **DATA)

    await router.register("writer", writer)
    run = await router.run(
        "name: reviewed\npattern: sequential\n"
        "steps: [{name: only, agent: writer, approval: {after: true, role: approver}}]",
        "x",
    )
    [approval] = await router.approvals()  # of the output as the step produced it
    await router.decide(approval.approval_id, run_pb2.APPROVAL_OUTCOME_APPROVED)
    done = await router.settled(run)  # the step read back from the journal
    assert done.state == run_pb2.RUN_STATE_COMPLETED
    reviewed = {"text": "draft", "data": DATA, "confidence": 0.8765}
    assert to_dict(approval.payload) == reviewed
    assert to_dict(done.output) == {"step": "only", "agent": "writer", **reviewed}
