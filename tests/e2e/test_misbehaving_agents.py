"""Agents that break the Invoke contract give a failed step with a clear reason, never a hung run."""

from __future__ import annotations

import asyncio

import pytest
from google.protobuf import struct_pb2
from mesh_support import apply, collect_events, register

from airspace.agent.v1 import agent_pb2, agent_pb2_grpc
from airspace.mesh.server import MeshServer
from airspace.mesh.settings import ServerSettings
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh

FINAL = agent_pb2.FinalOutput(message=agent_pb2.Message(parts=[agent_pb2.Part(text="done")]))
INFINITY = struct_pb2.Value(number_value=float("inf"))


class Misbehaving(agent_pb2_grpc.AgentServiceServicer):
    def __init__(self, name: str, events: list[agent_pb2.InvokeEvent] | None, hang: bool = False):
        self.name, self.events, self.hang = name, events, hang

    async def GetAgentCard(self, request, context):
        return agent_pb2.GetAgentCardResponse(
            card=agent_pb2.AgentCard(name=self.name, version="0.0.1")
        )

    async def Invoke(self, request_iterator, context):
        await request_iterator.__anext__()
        if self.hang:
            await asyncio.sleep(3600)
        for event in self.events:
            yield event


CASES = {
    "mute": (None, True, "did not finish within"),
    "no-terminal": (
        [agent_pb2.InvokeEvent(sequence=1, progress=agent_pb2.Progress(message="working"))],
        False,
        "ended without",
    ),
    "two-terminals": (
        [
            agent_pb2.InvokeEvent(sequence=1, final=FINAL),
            agent_pb2.InvokeEvent(sequence=2, final=FINAL),
        ],
        False,
        "after the terminal event",
    ),
    "out-of-order": ([agent_pb2.InvokeEvent(sequence=7, final=FINAL)], False, "expected 1"),
    "empty-event": ([agent_pb2.InvokeEvent(sequence=1)], False, "has no kind"),
    "infinite-output": (
        [
            agent_pb2.InvokeEvent(
                sequence=1,
                final=agent_pb2.FinalOutput(data=struct_pb2.Struct(fields={"total": INFINITY})),
            )
        ],
        False,
        "final.data.total is inf",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_a_contract_breaking_agent_fails_its_step_with_a_reason(mesh, name):
    events, hang, expected = CASES[name]
    srv = MeshServer(name, ServerSettings(grace_seconds=0.1), authenticate=False)
    srv.add_service(
        agent_pb2_grpc.add_AgentServiceServicer_to_server, Misbehaving(name, events, hang)
    )
    client = mesh.client()
    await register(client, await mesh._start(srv))
    await apply(
        client,
        f"name: call-{name}\npattern: sequential\nsteps: [{{name: only, agent: {name}, timeout: 300ms, retry: {{max_attempts: 2, initial_backoff: 10ms}}}}]",
    )
    run_events = await asyncio.wait_for(
        collect_events(
            client.runs.ExecuteRun(
                run_pb2.ExecuteRunRequest(workflow=f"call-{name}"), metadata=client.metadata
            )
        ),
        timeout=20,
    )
    failures = [e.step_failed for e in run_events if e.HasField("step_failed")]
    assert failures and expected in failures[-1].error.message
    # Only a missed deadline may be retried; breaking the contract is final.
    assert len(failures) == (2 if name == "mute" else 1)
    final = run_events[-1].run_state_changed
    assert final.to == run_pb2.RUN_STATE_FAILED and name in final.error.message
