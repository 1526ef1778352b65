"""Router leases with real processes: a router frozen past its lease (SIGSTOP) loses its
runs to another router and, once it runs again (SIGCONT), can write nothing into them;
on PostgreSQL, a router SIGKILLed in the middle of a batch is taken over and every run
completes with each completed step invoked once.

AIRSPACE_TEST_TAKEOVER_RUNS sets the size of the PostgreSQL batch (default 30; 100 runs
by hand in about a minute)."""

from __future__ import annotations

import collections
import os
import signal
import time

import grpc
import pytest
from process_mesh import (
    LEASE_SECONDS,
    STEPS,
    Client,
    ProcessMesh,
    check_exactly_once,
    event_log,
    finished_steps,
    gateway_client,
    held_by,
    prepare_workflow,
    start_runs,
    takeover_seconds,
    wait_for_the_end,
    wait_until,
)

from airspace.v1 import run_pb2
from tests.processes.up_support import cli
from tests.state.postgres_schemas import postgres_schema  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.process, pytest.mark.timeout(180)]
FROZEN_RUNS = 12
POSTGRES_RUNS = int(os.environ.get("AIRSPACE_TEST_TAKEOVER_RUNS", "30"))


def direct_client(mesh: ProcessMesh, name: str) -> Client:
    """Calls router `name` itself, with a signed identity (the gateway knows only router a)."""
    return Client(grpc.aio.insecure_channel(mesh.routers[name].address), mesh.signed())


async def completed(client: Client, run_ids: list[str]) -> dict[str, list[run_pb2.RunEvent]]:
    runs = await wait_for_the_end(client, run_ids, timeout=120)
    failed = {run_id: run.error.message for run_id, run in runs.items() if run.error.message}
    assert not failed, failed
    assert {run.output["data"]["count"] for run in runs.values()} == {len(STEPS)}
    return {run_id: await event_log(client, run_id) for run_id in run_ids}


async def some_steps_done(mesh: ProcessMesh, run_ids: list[str]) -> None:
    total = len(run_ids) * len(STEPS)
    await wait_until(lambda: finished_steps(mesh, set(run_ids)) >= total // 3, "a third done")
    assert finished_steps(mesh, set(run_ids)) < total, "every run ended before the router stopped"


def taken_over(events: list[run_pb2.RunEvent]) -> list[run_pb2.LeaseTakenOver]:
    return [e.lease_taken_over for e in events if e.HasField("lease_taken_over")]


def check_resumed_after_takeover(events: list[run_pb2.RunEvent]) -> None:
    """After the takeover the new owner goes on from the journal: no step completed before
    it starts again, and every later step starts before it completes, once."""
    at = next(i for i, e in enumerate(events) if e.HasField("lease_taken_over"))
    done_before = {e.step_key for e in events[:at] if e.HasField("step_completed")}
    after = [(e.WhichOneof("kind"), e.step_key) for e in events[at:]]
    started_after = [key for kind, key in after if kind == "step_started"]
    completed_after = [key for kind, key in after if kind == "step_completed"]
    assert not done_before & set(started_after), (done_before, started_after)
    assert completed_after == sorted(set(started_after)), after


async def test_a_router_frozen_past_its_lease_writes_nothing_once_its_runs_moved(mesh):
    router_a, router_b = mesh.routers["a"], mesh.add_router("b")
    router_b.start()
    via_a, via_b = gateway_client(mesh), direct_client(mesh, "b")
    try:
        await prepare_workflow(via_a, mesh.agent.address)
        run_ids = await start_runs(via_a, FROZEN_RUNS, "frozen")  # all on router a
        await some_steps_done(mesh, run_ids)
        os.kill(router_a.pid, signal.SIGSTOP)
        stopped_at = time.monotonic()
        held = held_by(mesh.lease_owners(), "router-a")
        try:
            took = await takeover_seconds(mesh.lease_owners, held, stopped_at)
            print(f"takeover {took:.1f}s after SIGSTOP (router lease {LEASE_SECONDS:g}s)")
        finally:
            os.kill(router_a.pid, signal.SIGCONT)  # router b is still at work on the runs
        logs = await completed(via_b, run_ids)
        check_exactly_once(mesh, logs)
        assert {run_id for run_id, events in logs.items() if taken_over(events)} == held
        for run_id in held:
            [takeover] = taken_over(logs[run_id])
            assert (takeover.previous_owner, takeover.new_owner) == ("router-a", "router-b")
            check_resumed_after_takeover(logs[run_id])
        shown = cli(mesh.home, "runs", "show", next(iter(held)))
        assert shown.returncode == 0, shown.stderr
        assert "taken over by router-b from router-a" in shown.stdout, shown.stdout
        # Router a noticed, once it ran again, that its lease had lapsed.
        await wait_until(
            lambda: "router lease lapsed" in mesh.log_tail(router_a, 400), "router a to notice"
        )
        refused = mesh.log_tail(router_a, 400).count("LEASE_NOT_HELD")
        print(f"router a: {refused} log lines of writes refused after SIGCONT (LEASE_NOT_HELD)")
    finally:
        await via_a.channel.close()
        await via_b.channel.close()
        router_b.stop()
        del mesh.routers["b"]


async def test_on_postgres_a_killed_router_is_taken_over_and_every_run_completes_once(
    postgres_schema,  # noqa: F811 (the fixture)
    tmp_path,
):
    mesh = ProcessMesh(tmp_path, state_url=postgres_schema)
    mesh.add_router("b")
    mesh.start()
    via_a, via_b = gateway_client(mesh), direct_client(mesh, "b")
    try:
        await prepare_workflow(via_a, mesh.agent.address)
        on_a = await start_runs(via_a, POSTGRES_RUNS // 2, "pg-a")
        on_b = await start_runs(via_b, POSTGRES_RUNS - len(on_a), "pg-b")
        await some_steps_done(mesh, on_a + on_b)
        mesh.kill(mesh.routers["a"])
        killed_at = time.monotonic()
        held = held_by(mesh.lease_owners(), "router-a")
        took = await takeover_seconds(mesh.lease_owners, held, killed_at)
        print(f"PostgreSQL: takeover {took:.1f}s after SIGKILL (router lease {LEASE_SECONDS:g}s)")
        logs = await completed(via_b, on_a + on_b)
        repeated = check_exactly_once(mesh, logs)
        finishes = collections.Counter(
            (run, step) for kind, run, step, _ in mesh.agent_calls() if kind == "finish"
        )
        # A step the agent finished twice was the one in flight when router a died.
        assert sum(count - 1 for count in finishes.values()) <= repeated, finishes
        takeovers = [t for events in logs.values() for t in taken_over(events)]
        assert takeovers and {(t.previous_owner, t.new_owner) for t in takeovers} == {
            ("router-a", "router-b")
        }
        print(f"PostgreSQL: {len(logs)} runs, {repeated} steps in flight invoked again")
    finally:
        await via_a.channel.close()
        await via_b.channel.close()
        mesh.stop()
