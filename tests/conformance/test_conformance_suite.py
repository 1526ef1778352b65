"""The conformance suite against real agent servers: ones that conform and ones that do not."""

from __future__ import annotations

import io
import socket

import grpc
import pytest
from conformance_agents import SloppyAgent, reckless_agent, triage_agent
from rich.console import Console

from airspace.agent.v1 import agent_pb2_grpc
from airspace.agents.samples import compliance_checker, contract_extractor, summary_writer
from airspace.conformance import SUITE, Status, SuiteOptions, as_json, render, run_suite
from airspace.conformance.runner import selected

pytestmark = pytest.mark.mesh

TRIAGE_OPTIONS = SuiteOptions(
    handoff_input="please escalate this",
    action_input="I want a refund",
    actions=("payments.refund",),
)


def by_check(report) -> dict:
    return {result.check: result for result in report.results}


def problems(result) -> str:
    return " | ".join(result.problems)


@pytest.fixture
async def sloppy():
    server = grpc.aio.server()
    agent_pb2_grpc.add_AgentServiceServicer_to_server(SloppyAgent(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}"
    await server.stop(0)


@pytest.mark.parametrize(
    ("sample", "task_input"),
    [
        (contract_extractor, None),  # the card's skill example
        (compliance_checker, None),
        (summary_writer, '{"governing_law": "Ireland", "term_months": 24}'),  # data, as JSON
    ],
    ids=["extractor", "checker", "writer"],
)
async def test_the_sample_agents_conform(serve, sample, task_input):
    report = await run_suite(await serve(sample.agent), SuiteOptions(input_text=task_input))
    results = by_check(report)
    assert report.passed, [(r.check, r.problems) for r in report.results if r.problems]
    assert report.agent == sample.agent.name
    # They declare neither handoff nor actions, so those two checks say why they were skipped.
    assert {c for c, r in results.items() if r.status is Status.SKIP} == {"handoff", "actions"}
    assert "does not declare" in results["handoff"].hint


async def test_an_agent_that_hands_off_and_acts_passes_every_check(serve):
    report = await run_suite(await serve(triage_agent()), TRIAGE_OPTIONS)
    assert [r.status for r in report.results] == [Status.PASS] * len(SUITE), [
        (r.check, r.problems) for r in report.results if r.problems
    ]
    actions = by_check(report)["actions"]
    sent = [line for exchange in actions.exchanges for line in exchange.sent]
    assert any("verdict=PENDING_APPROVAL" in line for line in sent)


async def test_behaviour_checks_are_skipped_with_a_hint_without_inputs(serve):
    report = await run_suite(await serve(triage_agent()))
    results = by_check(report)
    assert results["handoff"].status is Status.SKIP and "--handoff-input" in results["handoff"].hint
    assert results["actions"].status is Status.SKIP and "--action-input" in results["actions"].hint


async def test_a_handoff_to_a_target_never_offered_fails(serve):
    report = await run_suite(
        await serve(reckless_agent()),
        SuiteOptions(handoff_input="anything", only=("handoff", "invoke")),
    )
    results = by_check(report)
    assert not report.passed
    assert "not one of the allowed_handoffs" in problems(results["handoff"])
    assert "reason is empty" in problems(results["handoff"])
    assert "with no target offered the agent still handed off" in problems(results["handoff"])
    assert "handed off although allowed_handoffs was empty" in problems(results["invoke.output"])


async def test_a_sloppy_agent_is_told_what_it_sent_and_what_the_contract_expects(sloppy):
    report = await run_suite(sloppy, SuiteOptions(timeout=5.0))
    results = by_check(report)
    assert not report.passed
    assert results["health"].status is Status.FAIL
    assert "UNIMPLEMENTED" in problems(results["health"])
    card = problems(results["card"])
    assert "name 'Sloppy Agent'" in card and "version is empty" in card
    assert "skills is empty" in card and "not media types: text" in card

    stream = results["invoke.stream"]
    assert stream.status is Status.FAIL
    assert "event 1 has sequence 0, expected 1" in problems(stream)
    assert "came after the terminal event" in problems(stream)
    received = stream.exchanges[0].received
    assert received[0].startswith("#0 progress") and received[-1] == "status OK"
    assert "exactly one terminal event" in stream.expected
    assert stream.hint, "a failure says how to fix it"

    fields = results["errors.required_fields"]
    assert "status INTERNAL, expected INVALID_ARGUMENT" in problems(fields)
    assert "idempotency_key=''" in fields.exchanges[0].sent[0]
    assert "instead of refusing the call" in problems(results["errors.first_message"])


async def test_an_unreachable_agent_fails_health_and_skips_the_rest():
    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    report = await run_suite(f"127.0.0.1:{port}", SuiteOptions(timeout=2.0))
    assert not report.passed
    assert report.results[0].status is Status.FAIL
    assert "nothing answers" in report.results[0].problems[0]
    assert all(r.status is Status.SKIP for r in report.results[1:])


async def test_only_runs_the_named_checks_or_groups(serve):
    report = await run_suite(await serve(triage_agent()), SuiteOptions(only=("errors", "card")))
    assert [r.check for r in report.results] == [
        "card",
        "errors.first_message",
        "errors.empty_stream",
        "errors.required_fields",
        "errors.unusable_input",
    ]
    with pytest.raises(ValueError, match="no check is named nonsense"):
        selected(("nonsense",))


async def test_the_report_renders_failures_in_full_and_as_json(sloppy):
    report = await run_suite(sloppy, SuiteOptions(timeout=5.0, only=("invoke.stream",)))
    out = io.StringIO()
    render(report, Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    for label in ("FAIL", "expected", "sent", "received", "problems", "fix", "DOES NOT CONFORM"):
        assert label in text
    document = as_json(report)
    assert document["passed"] is False
    assert document["results"][0]["status"] == "fail"
    assert document["results"][0]["exchanges"][0]["received"][-1] == "status OK"
