"""Crashes of real processes under load: SIGKILL a router, a router and the agent, or the
state service in the middle of 50+ slow runs and restart them, or kill one of two routers.
Every run must complete, each step must run exactly once (the step in flight at the crash
is invoked again with the same idempotency key; one that had finished at the agent is
answered from the agent's result store), and no event may be missing or duplicated."""

from __future__ import annotations

import asyncio
import collections
import os
import signal

import grpc
import pytest
from process_mesh import (
    STEPS,
    Client,
    check_exactly_once,
    event_log,
    finished_steps,
    gateway_client,
    lease_owners,
    prepare_workflow,
    reinvocations,
    start_runs,
    wait_for_the_end,
    wait_until,
)

from airspace.v1 import run_pb2

pytestmark = [pytest.mark.process, pytest.mark.timeout(120)]
RUNS = 60


async def completed_exactly_once(mesh, client: Client, run_ids: list[str], interruptions=1):
    runs = await wait_for_the_end(client, run_ids)
    failed = {run_id: run.error.message for run_id, run in runs.items() if run.error.message}
    assert not failed, failed
    assert {run.state for run in runs.values()} == {run_pb2.RUN_STATE_COMPLETED}
    assert {run.output["data"]["count"] for run in runs.values()} == {len(STEPS)}
    logs = {run_id: await event_log(client, run_id) for run_id in run_ids}
    return logs, check_exactly_once(mesh, logs, interruptions)


async def a_third_done(mesh, run_ids: list[str]) -> None:
    total = len(run_ids) * len(STEPS)
    await wait_until(
        lambda: finished_steps(mesh, set(run_ids)) >= total // 3, "a third of the steps"
    )
    assert finished_steps(mesh, set(run_ids)) < total, "every run ended before the crash"


async def test_a_killed_router_restarts_and_finishes_every_run_exactly_once(mesh):
    client = gateway_client(mesh)
    try:
        await prepare_workflow(client, mesh.agent.address)
        run_ids = await start_runs(client, RUNS, "router-kill")
        await a_third_done(mesh, run_ids)
        router = mesh.routers["a"]
        mesh.kill(router)
        router.start()
        logs, repeated = await completed_exactly_once(mesh, client, run_ids)
        assert repeated >= 1, "no step was in flight when the router died"
        report_reinvocations(mesh, logs, len(run_ids))
    finally:
        await client.channel.close()


async def test_a_killed_router_and_agent_never_run_a_finished_step_again(mesh):
    client = gateway_client(mesh)
    try:
        await prepare_workflow(client, mesh.agent.address)
        run_ids = await start_runs(client, RUNS, "router-and-agent-kill")
        await a_third_done(mesh, run_ids)
        router = mesh.routers["a"]
        # A frozen router still receives the agent's answers but journals none of them:
        # every step in flight finishes at the agent and is lost with the router.
        os.kill(router.pid, signal.SIGSTOP)
        await asyncio.sleep(1.0)  # longer than a step takes
        mesh.kill(router)
        # The agent dies too, and what it kept in memory with it.
        mesh.kill(mesh.agent)
        mesh.agent.start()
        router.start()
        # A step in flight was seen invoked a third time after this (once in six runs, with
        # no failed attempt logged): two starts again are allowed; what must stay 0 is the
        # handler running again.
        logs, _ = await completed_exactly_once(mesh, client, run_ids, interruptions=2)
        again, reran = report_reinvocations(mesh, logs, len(run_ids))
        assert again >= 1, "no step had finished at the agent when the router died"
        assert reran == 0, f"{reran} finished step(s) ran again at the restarted agent"
    finally:
        await client.channel.close()


def report_reinvocations(mesh, logs, runs: int) -> tuple[int, int]:
    again, reran = reinvocations(mesh, logs)
    print(
        f"of {runs * len(STEPS)} steps, {again} finished at the agent were invoked again; "
        f"the handler ran again for {reran}"
    )
    return again, reran


async def follow(client: Client, run_id: str, seen: list[run_pb2.RunEvent]) -> None:
    """A watcher that reconnects from its last event whenever the stream breaks, and
    collects the events in `seen`."""
    while True:
        request = run_pb2.WatchRunRequest(
            run_id=run_id, after_sequence=seen[-1].sequence if seen else 0
        )
        try:
            async for event in client.runs.WatchRun(request, metadata=client.metadata, timeout=90):
                seen.append(event)
            return
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE:
                raise
            await asyncio.sleep(0.2)


async def test_a_killed_state_service_loses_no_acknowledged_write(mesh):
    client = gateway_client(mesh)
    try:
        await prepare_workflow(client, mesh.agent.address)
        run_ids = await start_runs(client, 50, "state-kill")
        await a_third_done(mesh, run_ids)
        progress = collections.Counter(
            run for kind, run, *_ in mesh.agent_calls() if kind == "finish"
        )
        laggards = sorted(run_ids, key=lambda run_id: progress[run_id])[:5]
        seen = {run_id: [] for run_id in laggards}
        watchers = [
            asyncio.create_task(follow(client, run_id, seen[run_id])) for run_id in laggards
        ]
        await wait_until(lambda: all(seen.values()), "watchers to receive events")
        mesh.kill(mesh.state)
        # Started while the state service is down: acknowledged once it is back.
        late = asyncio.create_task(start_runs(client, 10, "state-kill-late"))
        mesh.state.start()
        run_ids += await late
        logs, _ = await completed_exactly_once(mesh, client, run_ids, interruptions=2)
        for run_id, watcher in zip(laggards, watchers, strict=True):
            # The router executing a run streams it itself (local_events), so a watcher
            # may not even notice the restart, or reconnect when the router hands it over
            # to the state service; either way, across the restart: every event, in
            # order, once; what the watcher saw before the crash is still stored, unchanged.
            await watcher
            assert seen[run_id] == logs[run_id]
    finally:
        await client.channel.close()


async def test_two_routers_keep_each_run_on_one_and_take_over_from_a_dead_one(mesh):
    router_a, router_b = mesh.routers["a"], mesh.add_router("b")
    router_b.start()
    via_a = gateway_client(mesh)
    via_b = Client(grpc.aio.insecure_channel(router_b.address), mesh.signed())
    owners: dict[str, set[str]] = collections.defaultdict(set)

    async def sample_leases():
        while True:
            for run_id, owner in (await asyncio.to_thread(lease_owners, mesh.home)).items():
                owners[run_id].add(owner)
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample_leases())
    try:
        await prepare_workflow(via_a, mesh.agent.address)
        on_a = await start_runs(via_a, RUNS // 2, "two-routers-a")
        on_b = await start_runs(via_b, RUNS // 2, "two-routers-b")
        await a_third_done(mesh, on_a + on_b)
        before = {run_id: set(seen) for run_id, seen in owners.items()}
        mesh.kill(router_a)
        await completed_exactly_once(mesh, via_b, on_a + on_b)
        # While both lived, each run stayed with the router that started it.
        for run_ids, owner in ((on_a, "router-a"), (on_b, "router-b")):
            assert all(before.get(run_id, {owner}) == {owner} for run_id in run_ids), before
        assert any(before.get(run_id) == {"router-a"} for run_id in on_a)
        # Router b finished router a's runs.
        assert any("router-b" in owners[run_id] for run_id in on_a)
    finally:
        sampler.cancel()
        await via_a.channel.close()
        await via_b.channel.close()
        router_b.stop()
        del mesh.routers["b"]
        if not router_a.alive():
            router_a.start()
