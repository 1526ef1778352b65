"""A run whose steps pass a 200 KiB document along, through the whole mesh: the state
store keeps the document once, apart from its rows, and every caller reads it back as
the agents wrote it (ExecuteRun, WatchRun, GetRun)."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest
from mesh_support import apply, collect_events, echo_agent, register, text_input

from airspace.agents.kit import Agent, Reply
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh

# 200 KiB of text that differs all along, without anything policy would mask.
DOCUMENT = " ".join(f"clause-{n}" for n in range(20_000))[: 200 * 1024]
WORKFLOW = """
name: publish-then-echo
pattern: sequential
steps:
  - {name: publish, agent: publisher}
  - {name: repeat, agent: echo}
"""


def publisher() -> Agent:
    agent = Agent(name="publisher", version="1.0.0", description="Writes the long document")

    @agent.handler
    async def publish(task):
        return Reply(text=DOCUMENT, data={"pages": 80})

    return agent


async def test_a_run_passing_a_large_document_along_reads_back_whole(mesh):
    client = mesh.client()
    for agent in (publisher(), echo_agent()):
        await register(client, await mesh.serve_agent(agent))
    await apply(client, WORKFLOW)

    request = run_pb2.ExecuteRunRequest(
        workflow="publish-then-echo", input=text_input("publish"), request_id="long-output"
    )
    executed = await collect_events(client.runs.ExecuteRun(request, metadata=client.metadata))
    run_id = executed[0].run_id
    completed = [e.step_completed for e in executed if e.HasField("step_completed")]
    assert [step.output.message.parts[0].text for step in completed] == [DOCUMENT, DOCUMENT]

    watched = await collect_events(
        client.runs.WatchRun(run_pb2.WatchRunRequest(run_id=run_id), metadata=client.metadata)
    )
    assert watched == executed
    run = (
        await client.runs.GetRun(run_pb2.GetRunRequest(run_id=run_id), metadata=client.metadata)
    ).run
    assert run.state == run_pb2.RUN_STATE_COMPLETED
    assert run.output["text"] == DOCUMENT

    with contextlib.closing(sqlite3.connect(mesh.tmp_path / "state" / "state.db")) as db:
        (largest_event,) = db.execute("SELECT MAX(length(data)) FROM events").fetchone()
        (payloads,) = db.execute("SELECT COUNT(*) FROM payloads").fetchone()
    assert largest_event < 16 * 1024
    # The publisher's output (its event and journal entry), the echo's (which repeats the
    # document in its data too) and the run's output (its record and RunOutput event).
    assert payloads == 3
