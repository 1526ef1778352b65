"""The Python agent kit over real gRPC: events, outcomes, actions, protocol errors,
idempotency, deadlines, cancellation and tracing (tests/agents/test_agent_safety.py has
the durable result store and handlers kept off the event loop)."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from agent_helpers import (
    assert_well_formed,
    data_message,
    invoke,
    read_rest,
    start_request,
    struct,
)
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from airspace.agent.v1 import agent_pb2
from airspace.agents.kit import Agent, AgentFailure, Artifact, Handoff, Reply, Task
from airspace.mesh import telemetry

pytestmark = pytest.mark.mesh


def make_agent(**kwargs) -> Agent:
    return Agent(name="echo", version="2.1.0", description="Echoes its input", **kwargs)


def kinds(events) -> list[str]:
    return [event.WhichOneof("kind") for event in events]


def violations(error: grpc.aio.AioRpcError) -> list[str]:
    status = rpc_status.from_call(error)
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            return [violation.field for violation in bad.field_violations]
    return []


async def test_card_describes_the_agent(connect):
    agent = make_agent(
        skills=[{"id": "echo", "name": "Echo", "tags": ["test"]}],
        clearances=["DATA_CLASS_PII", "FINANCIAL"],
        streaming=True,
    )
    agent.handler(lambda task: Reply(text=task.text))
    stub = await connect(agent)

    card = (await stub.GetAgentCard(agent_pb2.GetAgentCardRequest())).card

    assert (card.name, card.version, card.runtime) == ("echo", "2.1.0", "python")
    assert [skill.id for skill in card.skills] == ["echo"]
    assert list(card.clearances) == [agent_pb2.DATA_CLASS_PII, agent_pb2.DATA_CLASS_FINANCIAL]
    assert card.capabilities.streaming and card.capabilities.idempotent
    assert not card.capabilities.actions
    assert "application/json" in card.input_modes


def test_unknown_clearance_is_refused():
    with pytest.raises(ValueError, match="TOP_SECRET"):
        make_agent(clearances=["TOP_SECRET"])


async def test_async_handler_streams_progress_and_partial_before_final(connect):
    agent = make_agent()

    @agent.handler
    async def echo(task: Task) -> Reply:
        await task.progress("reading", 0.25)
        await task.partial(task.text.upper())
        await task.report_usage(input_tokens=12, output_tokens=3, model="rules")
        return Reply(
            text=task.text,
            data={"length": len(task.text)},
            confidence=0.9,
            artifacts=[Artifact(name="echo.txt", text=task.text)],
        )

    events = await invoke(await connect(agent), start_request("hello"))

    assert kinds(events) == ["progress", "partial", "usage", "final"]
    assert events[0].progress.message == "reading"
    assert events[0].progress.fraction == pytest.approx(0.25)
    assert events[0].progress.state == agent_pb2.TASK_STATE_WORKING
    assert events[1].partial.part.text == "HELLO"
    assert (events[2].usage.input_tokens, events[2].usage.output_tokens) == (12, 3)
    final = events[3].final
    assert final.message.parts[0].text == "hello"
    assert final.message.author == "echo"
    assert final.message.role == agent_pb2.ROLE_AGENT
    assert dict(final.data) == {"length": 5.0}
    assert final.confidence == pytest.approx(0.9)
    assert final.artifacts[0].name == "echo.txt"
    assert final.artifacts[0].parts[0].text == "hello"


async def test_sync_handler_sees_the_whole_task(connect):
    agent = make_agent()

    @agent.handler
    def describe(task: Task) -> Reply:
        return Reply(
            data={
                "text": task.text,
                "data": task.data,
                "context_data": task.context_data,
                "context_authors": [message.author for message in task.context],
                "parameters": task.parameters,
                "ids": [task.run_id, task.step_key, task.idempotency_key, task.tenant],
                "numbers": [task.attempt, task.hop_count],
                "allowed": [*task.allowed_handoffs, *task.allowed_actions],
            }
        )

    request = start_request(
        "first",
        data={"a": 1, "b": "x"},
        context=[data_message("extractor", {"a": 0, "c": True})],
        parameters=struct({"threshold": 5}),
        tenant="acme",
        attempt=2,
        hop_count=1,
        allowed_handoffs=["reviewer"],
        allowed_actions=["mail.send"],
    )
    request.start.input.parts.append(agent_pb2.Part(text="second"))

    events = await invoke(await connect(agent), request)

    seen = events[-1].final.data
    assert seen["text"] == "first\nsecond"
    assert dict(seen["data"]) == {"a": 1.0, "b": "x"}
    assert dict(seen["context_data"]) == {"a": 0.0, "c": True}
    assert list(seen["context_authors"]) == ["extractor"]
    assert dict(seen["parameters"]) == {"threshold": 5.0}
    assert list(seen["ids"]) == ["run-1", "s0001-step", "key-1", "acme"]
    assert list(seen["numbers"]) == [2.0, 1.0]
    assert list(seen["allowed"]) == ["reviewer", "mail.send"]
    assert not events[-1].final.HasField("confidence")


async def test_handoff_ends_the_stream_with_a_handoff_request(connect):
    agent = make_agent()
    agent.handler(
        lambda task: Handoff(
            "legal-reviewer",
            "liability clause is unusual",
            text="please review",
            data={"clause": 6},
        )
    )

    events = await invoke(await connect(agent), start_request("contract"))

    assert kinds(events) == ["handoff"]
    handoff = events[0].handoff
    assert (handoff.target, handoff.reason) == ("legal-reviewer", "liability clause is unusual")
    assert handoff.message.parts[0].text == "please review"
    assert dict(handoff.data) == {"clause": 6.0}


async def test_agent_failure_becomes_an_agent_error(connect):
    agent = make_agent()

    @agent.handler
    async def fail(task: Task) -> Reply:
        await task.progress("calling the registry")
        raise AgentFailure("DEPENDENCY", "the registry is unavailable", retryable=True)

    events = await invoke(await connect(agent), start_request("x"))

    assert kinds(events) == ["progress", "error"]
    error = events[-1].error
    assert error.kind == agent_pb2.AGENT_ERROR_KIND_DEPENDENCY
    assert error.message == "the registry is unavailable"
    assert error.retryable


async def test_unexpected_exception_is_internal_and_does_not_echo_the_input(connect):
    agent = make_agent()

    @agent.handler
    def crash(task: Task) -> Reply:
        raise ValueError(f"cannot parse {task.text}")

    events = await invoke(await connect(agent), start_request("jane.doe@example.com"))

    error = events[-1].error
    assert error.kind == agent_pb2.AGENT_ERROR_KIND_INTERNAL
    assert not error.retryable
    assert "jane.doe" not in error.message
    assert "ValueError" in error.message


async def test_returning_something_else_than_a_reply_is_internal(connect):
    agent = make_agent()
    agent.handler(lambda task: "just a string")

    events = await invoke(await connect(agent), start_request("x"))

    assert events[-1].error.kind == agent_pb2.AGENT_ERROR_KIND_INTERNAL


def refund_agent() -> Agent:
    agent = make_agent(actions=True)

    @agent.handler
    async def refund(task: Task) -> Reply:
        decision = await task.request_action("payments.refund", {"amount": 120}, "customer asked")
        return Reply(
            text="refunded" if decision.allowed else "not refunded",
            data={"verdict": decision.verdict, "arguments": decision.arguments},
        )

    return agent


async def test_action_request_waits_for_the_matching_decision(connect):
    stub = await connect(refund_agent())
    call = stub.Invoke(timeout=10)
    await call.write(start_request("refund order 7"))

    request_event = await call.read()
    action = request_event.action_request
    assert (action.name, action.reason) == ("payments.refund", "customer asked")
    assert dict(action.arguments) == {"amount": 120.0}

    await call.write(
        agent_pb2.InvokeRequest(
            action_decision=agent_pb2.ActionDecision(
                action_id=action.action_id,
                verdict=agent_pb2.ACTION_VERDICT_ALLOWED,
                arguments=struct({"amount": 100}),
            )
        )
    )
    await call.done_writing()
    events = [request_event, *await read_rest(call)]

    assert_well_formed(events)
    assert kinds(events) == ["action_request", "final"]
    assert events[-1].final.message.parts[0].text == "refunded"
    assert dict(events[-1].final.data["arguments"]) == {"amount": 100.0}


async def test_pending_approval_ends_the_attempt_and_the_retry_uses_the_decision(connect):
    agent = refund_agent()
    stub = await connect(agent)
    call = stub.Invoke(timeout=10)
    await call.write(start_request("refund order 7", key="refund-1"))
    action = (await call.read()).action_request
    await call.write(
        agent_pb2.InvokeRequest(
            action_decision=agent_pb2.ActionDecision(
                action_id=action.action_id, verdict=agent_pb2.ACTION_VERDICT_PENDING_APPROVAL
            )
        )
    )
    pending = await call.read()
    assert pending.error.kind == agent_pb2.AGENT_ERROR_KIND_PENDING_APPROVAL
    assert pending.error.retryable

    approved = agent_pb2.ActionDecision(
        action_id=action.action_id,
        verdict=agent_pb2.ACTION_VERDICT_ALLOWED,
        approval_id="appr-1",
    )
    events = await invoke(
        stub, start_request("refund order 7", key="refund-1", prior_action_decisions=[approved])
    )

    assert kinds(events) == ["final"]
    assert events[0].final.data["verdict"] == "ALLOWED"
    assert dict(events[0].final.data["arguments"]) == {"amount": 120.0}
    assert agent.executions["refund-1"] == 2


async def test_closing_the_stream_before_deciding_fails_the_attempt(connect):
    stub = await connect(refund_agent())
    call = stub.Invoke(timeout=10)
    await call.write(start_request("refund order 7"))
    assert (await call.read()).WhichOneof("kind") == "action_request"
    await call.done_writing()

    events = await read_rest(call)

    assert events[-1].error.kind == agent_pb2.AGENT_ERROR_KIND_DEPENDENCY
    assert events[-1].error.retryable


async def test_a_decision_for_an_unknown_action_is_invalid(connect):
    stub = await connect(refund_agent())
    call = stub.Invoke(timeout=10)
    await call.write(start_request("refund order 7"))
    await call.read()
    await call.write(
        agent_pb2.InvokeRequest(
            action_decision=agent_pb2.ActionDecision(
                action_id="nope", verdict=agent_pb2.ACTION_VERDICT_ALLOWED
            )
        )
    )

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call.read()

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(caught.value) == ["action_decision.action_id"]


async def test_a_first_message_that_is_not_start_is_invalid(connect):
    agent = make_agent()
    agent.handler(lambda task: Reply(text="never"))
    decision = agent_pb2.InvokeRequest(action_decision=agent_pb2.ActionDecision(action_id="a"))

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await invoke(await connect(agent), decision)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(caught.value) == ["start"]
    assert agent.executions == {}


async def test_a_start_without_ids_names_the_missing_fields(connect):
    agent = make_agent()
    agent.handler(lambda task: Reply(text="never"))
    request = start_request("x", key="")
    request.start.run_id = ""

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await invoke(await connect(agent), request)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "start.run_id" in caught.value.details()
    assert violations(caught.value) == ["start.idempotency_key", "start.run_id"]


async def test_a_retry_with_the_same_key_is_served_from_the_cache(connect):
    agent = make_agent()

    @agent.handler
    async def count(task: Task) -> Reply:
        await task.progress("working")
        return Reply(text=f"done {task.text}", data={"attempt": task.attempt})

    stub = await connect(agent)
    first = await invoke(stub, start_request("a", key="step-key"))
    retry = await invoke(stub, start_request("a", key="step-key", attempt=2))
    other = await invoke(stub, start_request("b", key="other-key"))

    assert kinds(retry) == ["final"]
    assert retry[0].sequence == 1
    assert retry[0].final == first[-1].final
    assert other[-1].final.message.parts[0].text == "done b"
    assert agent.executions == {"step-key": 1, "other-key": 1}


async def test_failures_are_not_cached(connect):
    agent = make_agent()

    @agent.handler
    def flaky(task: Task) -> Reply:
        if agent.executions[task.idempotency_key] == 1:
            raise AgentFailure("DEPENDENCY", "try again", retryable=True)
        return Reply(text="ok")

    stub = await connect(agent)
    first = await invoke(stub, start_request("a"))
    retry = await invoke(stub, start_request("a"))

    assert kinds(first) == ["error"]
    assert kinds(retry) == ["final"]
    assert agent.executions == {"key-1": 2}


async def test_the_store_keeps_the_newest_results_within_its_size(connect):
    agent = make_agent()
    ran = []

    @agent.handler
    def record(task: Task) -> Reply:
        ran.append(task.idempotency_key)
        return Reply(text=task.text)

    stub = await connect(agent, result_store_size=2)
    for key in ("k1", "k2", "k1", "k3", "k3", "k1"):
        await invoke(stub, start_request("x", key=key))

    # k1 was answered from the store until k3 took the place of the oldest result.
    assert ran == ["k1", "k2", "k3", "k1"]


def blocking_agent(started: asyncio.Event, cancelled: asyncio.Event) -> Agent:
    agent = make_agent()

    @agent.handler
    async def wait_forever(task: Task) -> Reply:
        await task.progress("waiting")
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return Reply(text="never")

    return agent


async def test_the_deadline_cancels_the_handler(connect):
    started, cancelled = asyncio.Event(), asyncio.Event()
    stub = await connect(blocking_agent(started, cancelled))

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await invoke(stub, start_request("x"), timeout=0.5)

    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    await asyncio.wait_for(cancelled.wait(), timeout=5)


async def test_cancelling_the_call_cancels_the_handler(connect):
    started, cancelled = asyncio.Event(), asyncio.Event()
    stub = await connect(blocking_agent(started, cancelled))
    call = stub.Invoke(timeout=10)
    await call.write(start_request("x"))
    assert (await call.read()).WhichOneof("kind") == "progress"
    await asyncio.wait_for(started.wait(), timeout=5)

    call.cancel()

    await asyncio.wait_for(cancelled.wait(), timeout=5)
    assert call.cancelled()


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    telemetry.setup("agent-kit-tests").add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


async def test_invocation_runs_in_a_server_span_under_the_callers_trace(connect, spans):
    agent = make_agent()

    @agent.handler
    async def echo(task: Task) -> Reply:
        await task.report_usage(input_tokens=40, output_tokens=7)
        return Reply(text="ok")

    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    traceparent = f"00-{trace_id}-00f067aa0ba902b7-01"
    request = start_request("secret input jane.doe@example.com", attempt=3)

    await invoke(await connect(agent), request, metadata=(("traceparent", traceparent),))

    (span,) = [s for s in spans.get_finished_spans() if s.name == "invoke_agent echo"]
    assert span.kind.name == "SERVER"
    assert format(span.context.trace_id, "032x") == trace_id
    assert format(span.parent.span_id, "016x") == "00f067aa0ba902b7"
    attributes = dict(span.attributes)
    assert attributes["gen_ai.operation.name"] == "invoke_agent"
    assert attributes["gen_ai.agent.name"] == "echo"
    assert attributes["gen_ai.agent.version"] == "2.1.0"
    assert attributes["airspace.run.id"] == "run-1"
    assert attributes["airspace.step.key"] == "s0001-step"
    assert attributes["airspace.attempt"] == 3
    assert attributes["gen_ai.usage.input_tokens"] == 40
    assert attributes["gen_ai.usage.output_tokens"] == 7
    assert not any("jane.doe" in str(value) for value in attributes.values())
