"""The sample contract review, end to end through the gateway with the real sample agents."""

from __future__ import annotations

import json
import pathlib

import pytest
from google.protobuf import struct_pb2
from mesh_support import apply, collect_events, register

from airspace.agents.samples import compliance_checker, contract_extractor, summary_writer
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONTRACT = (ROOT / "workflows" / "inputs" / "msa.txt").read_text()
WORKFLOW = (ROOT / "workflows" / "contract-review.yaml").read_text()


@pytest.fixture
async def review(mesh):
    client = mesh.client()
    for sample in (contract_extractor, compliance_checker, summary_writer):
        await register(client, await mesh.serve_agent(sample.agent))
    await apply(client, WORKFLOW)
    return client


def _input(text: str) -> struct_pb2.Struct:
    value = struct_pb2.Struct()
    value.update({"text": text})
    return value


async def test_a_contract_review_runs_every_step_in_order_under_policy(review):
    events = await collect_events(
        review.runs.ExecuteRun(
            run_pb2.ExecuteRunRequest(
                workflow="contract-review", input=_input(CONTRACT), request_id="r1"
            ),
            metadata=review.metadata,
        )
    )
    kinds = [e.WhichOneof("kind") for e in events]
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    completed = [e for e in events if e.HasField("step_completed")]
    assert [e.agent for e in completed] == [
        "contract-extractor",
        "compliance-checker",
        "summary-writer",
    ]
    verdicts = [e.guardrail_verdict for e in events if e.HasField("guardrail_verdict")]
    assert [v.checkpoint for v in verdicts] == ["step.input", "step.output"] * 3
    assert all(v.verdict == run_pb2.VERDICT_ALLOW and v.decision_id for v in verdicts)
    routing = [e.routing_decision for e in events if e.HasField("routing_decision")]
    assert [r.chosen for r in routing] == ["extract", "check", "summarize"]
    assert all(r.decided_by == "pattern:sequential" and r.reason for r in routing)
    assert kinds[-2:] == ["run_output", "run_state_changed"]
    assert events[-1].run_state_changed.to == run_pb2.RUN_STATE_COMPLETED

    run = (
        await review.runs.GetRun(
            run_pb2.GetRunRequest(run_id=events[0].run_id), metadata=review.metadata
        )
    ).run
    assert run.state == run_pb2.RUN_STATE_COMPLETED
    assert run.usage.steps == 3
    assert run.output["agent"] == "summary-writer" and run.output["text"]
    assert len(run.trace_id) == 32


async def test_agents_without_clearance_never_see_the_signatory_email(review):
    events = await collect_events(
        review.runs.ExecuteRun(
            run_pb2.ExecuteRunRequest(workflow="contract-review", input=_input(CONTRACT)),
            metadata=review.metadata,
        )
    )
    emails = contract_extractor.extract_contract(CONTRACT)["signatory_emails"]
    assert emails, "the sample contract names a signatory email"
    masked = [
        e.guardrail_verdict
        for e in events
        if e.HasField("guardrail_verdict")
        and any("email" in o for o in e.guardrail_verdict.obligations_applied)
    ]
    assert masked, "policy masked the email for an agent without PII clearance"
    uncleared = {"compliance-checker", "summary-writer"}
    for event in events:
        if event.HasField("step_completed") and event.agent in uncleared:
            shown = json.dumps(str(event.step_completed.output))
            assert not any(email in shown for email in emails)


async def test_the_same_request_id_joins_the_same_run(review):
    request = run_pb2.StartRunRequest(
        workflow="contract-review", input=_input(CONTRACT), request_id="same"
    )
    first = (await review.runs.StartRun(request, metadata=review.metadata)).run
    second = (await review.runs.StartRun(request, metadata=review.metadata)).run
    assert first.run_id == second.run_id
    listed = (await review.runs.ListRuns(run_pb2.ListRunsRequest(), metadata=review.metadata)).runs
    assert [r.run_id for r in listed] == [first.run_id]


async def test_a_watcher_resumes_from_its_cursor_without_gaps_or_duplicates(review):
    everything = await collect_events(
        review.runs.ExecuteRun(
            run_pb2.ExecuteRunRequest(workflow="contract-review", input=_input(CONTRACT)),
            metadata=review.metadata,
        )
    )
    middle = len(everything) // 2
    rest = await collect_events(
        review.runs.WatchRun(
            run_pb2.WatchRunRequest(run_id=everything[0].run_id, after_sequence=middle),
            metadata=review.metadata,
        )
    )
    assert [e.sequence for e in rest] == [e.sequence for e in everything[middle:]]
