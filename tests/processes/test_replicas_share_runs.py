"""Two replica chains on one PostgreSQL database — gateway A → router A → state A and
gateway B → router B → state B, as processes — behave as one control plane: a client
of gateway B watches, live, a run that router A executes, and cancels one; router A stops
it. State B learns of A's writes from PostgreSQL (LISTEN/NOTIFY), not from A."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from airspace.cli.processes import ManagedProcess, free_port
from airspace.v1 import run_pb2
from tests.durability.process_mesh import (
    WORKFLOW,
    ProcessMesh,
    bearer_client,
    event_log,
    gateway_client,
    prepare_workflow,
    wait_for_the_end,
    wait_until,
)

pytestmark = [
    pytest.mark.process,
    pytest.mark.timeout(180),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs process meshes"),
]
STEP_SECONDS = "1.0"


def replica(process: ManagedProcess, name: str, prefix: str, **env: str) -> ManagedProcess:
    """Another process like `process`, on a port of its own, with `env` changed."""
    port = free_port()
    changed = {**process.env, f"AIRSPACE_{prefix}_PORT": str(port), **env}
    return dataclasses.replace(process, name=name, port=port, env=changed, process=None)


def events_in_order(events: list[run_pb2.RunEvent]) -> list[tuple[int, str]]:
    return [(event.sequence, event.WhichOneof("kind")) for event in events]


async def start_run(client, request_id: str) -> str:
    request = run_pb2.StartRunRequest(workflow=WORKFLOW, request_id=request_id)
    request.input.update({"count": 0})
    response = await client.runs.StartRun(request, metadata=client.metadata, timeout=60)
    return response.run.run_id


async def test_a_client_of_another_gateway_watches_and_cancels_a_run(tmp_path, postgres_schema):
    mesh = ProcessMesh(tmp_path)
    mesh.state.env["AIRSPACE_STATE_URL"] = postgres_schema
    mesh.agent.env["COUNTER_DELAY_SECONDS"] = STEP_SECONDS
    state_b = replica(mesh.state, "state-b", "STATE")
    router_b = mesh.add_router("b")
    router_b.env["AIRSPACE_ROUTER_STATE_ENDPOINT"] = state_b.address
    gateway_b = replica(
        mesh.gateway,
        "gateway-b",
        "GATEWAY",
        AIRSPACE_GATEWAY_ROUTER_ENDPOINT=router_b.address,
    )
    mesh.start()
    extra = [state_b, gateway_b]
    for process in extra:
        process.start()
    client_a = gateway_client(mesh)
    client_b = bearer_client(gateway_b.address, mesh.credentials["api_key"])
    try:
        await prepare_workflow(client_a, mesh.agent.address)
        # Gateway A calls router A only: router A executes what A starts.
        watched = await start_run(client_a, "watched")
        seen = await event_log(client_b, watched)  # follows the run live until it ends
        assert seen[-1].run_state_changed.to == run_pb2.RUN_STATE_COMPLETED
        assert events_in_order(seen) == events_in_order(await event_log(client_a, watched))

        canceled = await start_run(client_a, "canceled")
        await wait_until(
            lambda: any(run == canceled for _, run, *_ in mesh.agent_calls()),
            "the first step to start",
        )
        await client_b.runs.CancelRun(
            run_pb2.CancelRunRequest(run_id=canceled, reason="not needed"),
            metadata=client_b.metadata,
            timeout=30,
        )
        runs = await wait_for_the_end(client_a, [canceled])
        assert runs[canceled].state == run_pb2.RUN_STATE_CANCELED
        # Router A's step in flight ends, its append is refused, and no later step starts.
        await wait_until(
            lambda: sum(
                kind == "finish" and run == canceled for kind, run, *_ in mesh.agent_calls()
            ),
            "the step in flight to finish",
        )
        log = await event_log(client_b, canceled)
        assert log[-1].run_state_changed.to == run_pb2.RUN_STATE_CANCELED
        started = {e.step_key for e in log if e.HasField("step_started")}
        assert len(started) <= 1, started
        calls = {step for _, run, step, _ in mesh.agent_calls() if run == canceled}
        assert len(calls) == 1, calls
    finally:
        await client_a.channel.close()
        await client_b.channel.close()
        for process in reversed(extra):
            process.stop()
        mesh.stop()
