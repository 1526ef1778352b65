"""PostgreSQL restarted under load: the mesh (state on a cluster of the test's own) rides it
out. Runs acknowledged before the restart all complete, none loses an event, no finished
step runs again, and runs started after it work."""

from __future__ import annotations

import sys
import time

import psycopg
import pytest

from airspace.v1 import run_pb2
from tests.durability.process_mesh import (
    STEPS,
    ProcessMesh,
    check_exactly_once,
    event_log,
    finished_steps,
    gateway_client,
    prepare_workflow,
    start_runs,
    wait_for_the_end,
    wait_until,
)

pytestmark = [
    pytest.mark.process,
    pytest.mark.timeout(300),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs a PostgreSQL cluster"),
]
RUNS_BEFORE = 16
RUNS_AFTER = 4


async def test_runs_ride_out_a_postgres_restart_with_no_acknowledged_write_lost(
    tmp_path, postgres_cluster
):
    mesh = ProcessMesh(tmp_path)
    mesh.state.env["AIRSPACE_STATE_URL"] = postgres_cluster.url
    mesh.start()
    client = gateway_client(mesh)
    try:
        await prepare_workflow(client, mesh.agent.address)
        before = await start_runs(client, RUNS_BEFORE, "before")
        await wait_until(
            lambda: finished_steps(mesh, set(before)) >= RUNS_BEFORE // 2,
            "steps to finish before the restart",
        )
        began = time.monotonic()
        postgres_cluster.restart()
        print(f"PostgreSQL restarted in {time.monotonic() - began:.1f}s")
        after = await start_runs(client, RUNS_AFTER, "after")

        runs = await wait_for_the_end(client, before + after, timeout=180)
        problems = {
            run_id: (run_pb2.RunState.Name(run.state), run.error.message)
            for run_id, run in runs.items()
            if run.state != run_pb2.RUN_STATE_COMPLETED
        }
        assert not problems, (problems, mesh.log_tail(mesh.state), postgres_cluster.log_tail())
        assert {run.output["data"]["count"] for run in runs.values()} == {len(STEPS)}
        with psycopg.connect(postgres_cluster.url) as db:  # the cluster holds them, not a file
            stored = db.execute("SELECT count(*) FROM runs").fetchone()
        assert stored == (RUNS_BEFORE + RUNS_AFTER,)
        logs = {run_id: await event_log(client, run_id) for run_id in before + after}
        # Gap- and duplicate-free logs, each step completed once and run by the agent
        # once more at most (a step in flight is invoked again with the same key).
        restarted = check_exactly_once(mesh, logs)
        print(f"steps started again after the restart: {restarted} of {len(logs) * len(STEPS)}")
    finally:
        await client.channel.close()
        mesh.stop()
