"""A run whose input carries a PII canary, through the in-process mesh with tracing
exported to the mesh's own collector: no span, log line or metric holds it in clear."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest
from google.protobuf import json_format, struct_pb2
from mesh_support import Mesh, apply, collect_events, exporting_spans, register
from observability_support import CANARY, EMAIL, clear_pii_in
from prometheus_client import REGISTRY, generate_latest

from airspace.agents.kit import Agent, Reply
from airspace.mesh import logs
from airspace.policy.engine.pii.log_masking import mask_log_text
from airspace.trace.v1 import trace_pb2
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh

ECHO = """
name: echo-canary
pattern: sequential
steps:
  - {name: first, agent: echo}
  - {name: second, agent: echo}
"""


def echo_agent() -> Agent:
    agent = Agent(name="echo", version="1.0.0", description="Repeats its input")

    @agent.handler
    async def echo(task):
        logging.getLogger("tests.observability.echo").info("echoing %s", task.text)
        return Reply(text=task.text or "empty", data={"seen": task.text})

    return agent


@pytest.fixture
async def mesh(tmp_path):
    started = Mesh(tmp_path)
    await started.start()
    yield started
    await started.stop()


@pytest.fixture
async def exported(mesh):
    """Spans of this test go to the mesh's collector, as a service's OTLP exporter sends them."""
    async with exporting_spans(mesh) as exporting:
        yield exporting


@pytest.fixture
def root_json_logs():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.formatter("json", "mesh", mask_log_text))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


async def stored_spans(queries, processor, run_id: str) -> list[trace_pb2.Span]:
    """The run's spans once the gateway's, the router's and the agent's have arrived."""
    for _ in range(40):
        await asyncio.to_thread(processor.force_flush)
        try:
            spans = (await queries.GetRunTrace(trace_pb2.GetRunTraceRequest(run_id=run_id))).spans
        except Exception:  # not stored yet: NOT_FOUND
            spans = []
        names = {span.name.split(" ")[0] for span in spans}
        if {"gateway", "invoke_workflow", "invoke_agent"} <= names:
            return spans
        await asyncio.sleep(0.05)
    raise AssertionError(f"the run's trace did not arrive: {sorted(s.name for s in spans)}")


async def every_stored_span(queries) -> list[trace_pb2.Span]:
    spans, token = [], ""
    while True:
        page = await queries.SearchSpans(
            trace_pb2.SearchSpansRequest(page_size=100, page_token=token)
        )
        spans.extend(page.spans)
        token = page.next_page_token
        if not token:
            return spans


async def test_a_pii_canary_in_a_runs_input_reaches_no_span_log_or_metric(
    mesh, exported, root_json_logs
):
    processor, queries = exported
    client = mesh.client()
    await register(client, await mesh.serve_agent(echo_agent()))
    await apply(client, ECHO)
    run_input = struct_pb2.Struct()
    run_input.update({"text": CANARY, "contact": {"email": EMAIL}})

    events = await collect_events(
        client.runs.ExecuteRun(
            run_pb2.ExecuteRunRequest(workflow="echo-canary", input=run_input),
            metadata=client.metadata,
        )
    )
    assert events[-1].run_state_changed.to == run_pb2.RUN_STATE_COMPLETED
    run_spans = await stored_spans(queries, processor, events[0].run_id)

    assert len([s for s in run_spans if s.name == "invoke_agent echo"]) == 4  # router + agent
    for span in await every_stored_span(queries):
        assert clear_pii_in(json_format.MessageToJson(span)) == [], span.name
    assert root_json_logs.getvalue().count("echoing") == 2  # what the agent was given
    assert clear_pii_in(root_json_logs.getvalue()) == []
    # The agent's lines while it ran a step name the run, the step and the run's trace.
    echoed = [
        json.loads(line) for line in root_json_logs.getvalue().splitlines() if '"echoing' in line
    ]
    run = events[0].run_id
    assert {(line["run_id"], line["trace_id"]) for line in echoed} == {(run, run_spans[0].trace_id)}
    assert sorted(line["step_key"] for line in echoed) == sorted(
        e.step_key for e in events if e.HasField("step_completed")
    )
    assert clear_pii_in(generate_latest(REGISTRY).decode()) == []
