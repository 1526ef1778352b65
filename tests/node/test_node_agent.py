"""The Node.js agent: it passes the conformance kit, works in workflows beside Python agents
(including handoffs both ways) and its spans join the run's trace."""

from __future__ import annotations

import asyncio
import shutil

import grpc
import pytest
from google.protobuf import json_format, struct_pb2
from mesh_support import apply, collect_events, exporting_spans, register

from airspace.agents.kit import Agent, Handoff, Reply
from airspace.agents.samples import contract_extractor, summary_writer
from airspace.conformance import Status, SuiteOptions, run_suite
from airspace.mesh import telemetry_credentials
from airspace.v1 import observability_pb2, observability_pb2_grpc, run_pb2

pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(
        shutil.which("node") is None,
        reason="node is not installed; these tests run the Node.js agent",
    ),
]

HIGH_RISK = "The Supplier accepts unlimited liability. This agreement renews automatically."
LOW_RISK = (
    'This Agreement is made between Acme Ltd (the "Customer") and Widget GmbH (the "Supplier"). '
    "The Supplier's total liability is capped at EUR 500,000. Either party may terminate with "
    "sixty (60) days' written notice. This Agreement is governed by the laws of Ireland."
)
SEQUENTIAL = """
name: contract-risk
pattern: sequential
steps:
  - {name: extract, agent: contract-extractor}
  - {name: score, agent: risk-scorer}
  - {name: summarize, agent: summary-writer}
"""
HANDOFF = """
name: contract-escalation
pattern: handoff
entry: intake
agents: [{agent: intake}, {agent: risk-scorer}, {agent: legal-reviewer}]
edges:
  - {from: intake, to: [risk-scorer]}
  - {from: risk-scorer, to: [legal-reviewer]}
max_hops: 3
"""


def intake_agent() -> Agent:
    """Python: extracts the contract's terms and hands them to the risk scorer."""
    agent = Agent(name="intake", version="1.0.0", description="routes new contracts", handoff=True)

    @agent.handler
    async def route(task):
        terms = contract_extractor.extract_contract(task.text)
        return Handoff(target="risk-scorer", reason="score it", text=task.text, data=terms)

    return agent


def legal_reviewer(seen: list) -> Agent:
    """Python: takes over high-risk contracts from the Node agent."""
    agent = Agent(name="legal-reviewer", version="1.0.0", description="reviews risky contracts")

    @agent.handler
    async def review(task):
        seen.append(dict(task.data))
        return Reply(text="sent to legal review", data={"reviewed": True}, confidence=0.9)

    return agent


async def execute(client, workflow: str, text: str) -> list:
    run_input = struct_pb2.Struct()
    run_input.update({"text": text})
    return await collect_events(
        client.runs.ExecuteRun(
            run_pb2.ExecuteRunRequest(workflow=workflow, input=run_input), metadata=client.metadata
        )
    )


def run_output(events) -> dict:
    return json_format.MessageToDict(events[-2].run_output.output)


async def test_the_node_agent_passes_the_conformance_kit(node_agent):
    report = await run_suite(
        await node_agent(),
        SuiteOptions(handoff_input=HIGH_RISK, action_input=HIGH_RISK, actions=("risk.notify",)),
    )
    assert report.agent == "risk-scorer"
    assert [(r.check, r.status) for r in report.results] == [
        (r.check, Status.PASS) for r in report.results
    ], [(r.check, r.problems) for r in report.results if r.problems]


@pytest.fixture
async def exported(mesh):
    """The in-process router's spans reach the collector too: the Node agent's span joins
    the run's path only under the router's invoke_agent span."""
    async with exporting_spans(mesh) as exporting:
        yield exporting


async def test_a_sequential_workflow_runs_python_node_python_in_one_trace(
    mesh, node_agent, exported
):
    client = mesh.client()
    # The credential the router issues when the agent is registered in the tenant.
    credential = telemetry_credentials.issue(
        mesh.key, telemetry_credentials.agent("acme", "risk-scorer")
    )
    scorer = await node_agent(
        AIRSPACE_AGENT_OTLP_ENDPOINT=mesh.router_settings.trace_endpoint,
        AIRSPACE_AGENT_TELEMETRY_CREDENTIAL=credential,
    )
    for endpoint in (
        await mesh.serve_agent(contract_extractor.agent),
        scorer,
        await mesh.serve_agent(summary_writer.agent),
    ):
        await register(client, endpoint)
    await apply(client, SEQUENTIAL)

    events = await execute(client, "contract-risk", LOW_RISK)
    assert events[-1].run_state_changed.to == run_pb2.RUN_STATE_COMPLETED, events[-1]
    completed = [e for e in events if e.HasField("step_completed")]
    assert [e.agent for e in completed] == ["contract-extractor", "risk-scorer", "summary-writer"]
    scored = json_format.MessageToDict(completed[1].step_completed.output.data)
    assert scored["risk_level"] == "low" and scored["risk_reasons"] == []
    assert run_output(events)["agent"] == "summary-writer"
    streamed = [
        e.partial_output
        for e in events
        if e.HasField("partial_output") and e.agent == "risk-scorer"
    ]
    progress = [e for e in events if e.HasField("agent_progress") and e.agent == "risk-scorer"]
    assert progress and not streamed, "a low risk has no findings to stream"

    run_id = events[0].run_id
    run = (
        await client.runs.GetRun(run_pb2.GetRunRequest(run_id=run_id), metadata=client.metadata)
    ).run
    traces = observability_pb2_grpc.TraceServiceStub(client.channel)
    node_spans = []
    for _ in range(40):  # the agent exports its spans in batches every 0.5 s
        try:
            found = await traces.GetRunTrace(
                observability_pb2.GetRunTraceRequest(run_id=run_id), metadata=client.metadata
            )
            node_spans = [s for s in found.spans if s.service == "risk-scorer"]
        except grpc.aio.AioRpcError as exc:  # NOT_FOUND until the first span is stored
            assert exc.code() == grpc.StatusCode.NOT_FOUND, exc
        if node_spans:
            break
        await asyncio.sleep(0.25)
    assert node_spans, "the Node agent's span reached the mesh's collector"
    span = node_spans[0]
    assert span.trace_id == run.trace_id, "the traceparent the router sent joined the run's trace"
    assert span.name == "invoke_agent risk-scorer" and span.kind == "SPAN_KIND_SERVER"
    assert span.parent_span_id
    assert span.attributes["airspace.run.id"] == run_id
    assert span.attributes["airspace.agent.outcome"] == "final"


async def test_handoffs_go_from_python_to_node_and_from_node_to_python(mesh, node_agent):
    client = mesh.client()
    seen: list = []
    for endpoint in (
        await mesh.serve_agent(intake_agent()),
        await node_agent(),
        await mesh.serve_agent(legal_reviewer(seen)),
    ):
        await register(client, endpoint)
    await apply(client, HANDOFF)

    events = await execute(client, "contract-escalation", HIGH_RISK)
    assert events[-1].run_state_changed.to == run_pb2.RUN_STATE_COMPLETED, events[-1]
    handoffs = [e.handoff for e in events if e.HasField("handoff")]
    assert [(h.from_agent, h.to_agent, h.accepted) for h in handoffs] == [
        ("intake", "risk-scorer", True),
        ("risk-scorer", "legal-reviewer", True),
    ]
    assert "at or above the threshold" in handoffs[1].reason
    assert seen[0]["risk_level"] == "high" and "liability is unlimited" in seen[0]["risk_reasons"]
    output = run_output(events)
    assert output["agent"] == "legal-reviewer"
    assert output["path"] == ["intake", "risk-scorer", "legal-reviewer"]
