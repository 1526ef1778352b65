"""The router's writes to a real state server whose replies get lost or which restarts:
appends land exactly once, and calls wait out a restart."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets

import pytest

from airspace.mesh import channels, errors
from airspace.mesh.server import MeshServer
from airspace.router.clients import call
from airspace.router.repositories import LeaseGrant, Repositories
from airspace.router.repositories.grpc_repositories import MeshRepositories
from airspace.router.run_log import RunLog, event
from airspace.router.settings import RouterSettings
from airspace.state.servicer import StateServicer
from airspace.state.settings import StateSettings
from airspace.state.sqlite.store import SqliteStateStore
from airspace.state.v1 import state_pb2, state_pb2_grpc
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh

KEY = secrets.token_hex(32).encode()
COMPLETED = run_pb2.RUN_STATE_COMPLETED


class LosingReplies(StateServicer):
    """Commits the router's writes (appends, in batches of runs' writes), then answers the
    next `lose` batches holding an append with UNAVAILABLE, as when the state service
    dies after its commit and before its reply."""

    lose = 0

    async def BatchWriteRuns(self, request, context):
        response = await super().BatchWriteRuns(request, context)
        appends = any(write.HasField("append_events") for write in request.writes)
        if self.lose and appends:
            self.lose -= 1
            raise errors.Unavailable("connection reset before the reply")
        return response


@dataclasses.dataclass
class StateServer:
    server: MeshServer
    servicer: LosingReplies
    port: int


async def serve_state(tmp_path, port: int = 0) -> StateServer:
    config = StateSettings(data_dir=str(tmp_path), mesh_key=KEY, port=port, grace_seconds=0)
    store = SqliteStateStore(config.database)
    servicer = LosingReplies(store)
    server = MeshServer("state", config)
    server.add_service(state_pb2_grpc.add_StateServiceServicer_to_server, servicer)
    server.on_stop(store.close)
    return StateServer(server, servicer, await server.start())


@pytest.fixture
async def state(tmp_path):
    started = await serve_state(tmp_path)
    yield started
    await started.server.stop(0)


def router_settings(state: StateServer) -> RouterSettings:
    return RouterSettings(
        mesh_key=KEY,
        state_endpoint=f"127.0.0.1:{state.port}",
        policy_endpoint="127.0.0.1:1",
        trace_endpoint="127.0.0.1:1",
    )


@pytest.fixture
async def repos(state):
    opened = MeshRepositories(router_settings(state))
    yield opened.repositories
    await opened.close()


async def new_run(repos: Repositories, run_id: str = "r1") -> None:
    run = run_pb2.Run(run_id=run_id, tenant="acme", request_id=f"req-{run_id}")
    await repos.runs.create(run)


async def stored(repos: Repositories, run_id: str = "r1") -> list[run_pb2.RunEvent]:
    return await repos.runs.events("acme", run_id, after_sequence=0, limit=1000)


def step(key: str, name: str = "started") -> run_pb2.RunEvent:
    return event(key, "writer", step_started=run_pb2.StepStarted(step_name=name))


async def test_an_append_whose_reply_was_lost_lands_once(state, repos):
    await new_run(repos)
    log = RunLog(repos.runs, "acme", "r1", last_sequence=0)
    state.servicer.lose = 1
    assert await log.append(step("a"), step("b")) == 2
    assert state.servicer.lose == 0  # the reply was lost
    assert await log.append(step("c")) == 3
    assert [e.step_key for e in await stored(repos)] == ["a", "b", "c"]


async def test_a_journaled_step_whose_reply_was_lost_is_not_refused_on_retry(state, repos):
    await new_run(repos)
    log = RunLog(repos.runs, "acme", "r1")  # reads the cursor itself
    state.servicer.lose = 1
    entry = state_pb2.JournalEntry(step_key="a", step_name="a", agent="writer", attempt=1)
    done = event("a", "writer", step_completed=run_pb2.StepCompleted(step_name="a"))
    log.complete_later(done, journal=[entry], within=60.0)
    await log.write_completed()
    assert state.servicer.lose == 0
    assert [e.sequence for e in await stored(repos)] == [1]
    journal = await repos.runs.journal("acme", "r1")
    assert [e.step_key for e in journal] == ["a"]


async def test_an_ending_whose_reply_was_lost_ends_the_run_once(state, repos):
    await new_run(repos)
    log = RunLog(repos.runs, "acme", "r1", last_sequence=0)
    state.servicer.lose = 1
    ended = event(run_state_changed=run_pb2.RunStateChanged(to=COMPLETED))
    run = await log.append_with_update(ended, run=run_pb2.Run(run_id="r1", state=COMPLETED))
    assert run.state == COMPLETED and run.last_event_sequence == 1 and state.servicer.lose == 0
    assert len(await stored(repos)) == 1
    with pytest.raises(errors.FailedPrecondition) as refused:
        await log.append(step("late"))
    assert refused.value.reason == "RUN_ENDED"


async def test_an_ending_whose_reply_was_lost_is_found_though_it_freed_the_lease(state, repos):
    await new_run(repos)
    epoch = await repos.leases.register("router-1", 30.0)
    grant = await repos.leases.claim("r1", "router-1", epoch)
    assert grant is not None
    log = RunLog(
        repos.runs, "acme", "r1", lease_owner="router-1", lease_token=grant.token, last_sequence=0
    )
    state.servicer.lose = 1
    ended = event(run_state_changed=run_pb2.RunStateChanged(to=COMPLETED))
    # Its retry is refused LEASE_NOT_HELD (the ending freed the lease), and the log
    # finds its events there.
    run = await log.append_with_update(ended, run=run_pb2.Run(run_id="r1", state=COMPLETED))
    assert run.state == COMPLETED and log.ended and state.servicer.lose == 0
    assert len(await stored(repos)) == 1
    other = await repos.leases.register("router-2", 30.0)
    assert await repos.leases.claim("r1", "router-2", other) == LeaseGrant(grant.token + 1)


async def test_a_lone_buffered_event_is_appended_once_its_delay_is_up(state, repos):
    await new_run(repos)
    log = RunLog(repos.runs, "acme", "r1", last_sequence=0)
    log.record(step("progress"))
    await log.flush(older_than=0.2)  # too early to go now, and nothing follows it
    assert await stored(repos) == []
    await asyncio.sleep(0.5)
    assert [e.step_key for e in await stored(repos)] == ["progress"]


async def test_events_of_another_writer_move_the_cursor_on(state, repos):
    await new_run(repos)
    log = RunLog(repos.runs, "acme", "r1", last_sequence=0)
    await log.append(step("a"))
    other = RunLog(repos.runs, "acme", "r1")
    await other.append(step("canceler"))
    assert await log.append(step("b")) == 3
    assert [e.step_key for e in await stored(repos)] == ["a", "canceler", "b"]


async def test_identical_events_of_another_writer_are_not_taken_for_ours(state, repos):
    await new_run(repos)
    log = RunLog(repos.runs, "acme", "r1", last_sequence=0)
    theirs = step("same")
    theirs.time.FromMicroseconds(1)
    await RunLog(repos.runs, "acme", "r1").append(theirs)
    ours = step("same")  # stamped with the current time by the log
    assert await log.append(ours) == 2
    assert len(await stored(repos)) == 2


async def test_calls_wait_out_a_restart_of_the_state_service(tmp_path, state, repos):
    await new_run(repos)
    await state.server.stop(0)

    async def restart_later() -> StateServer:
        await asyncio.sleep(0.5)
        return await serve_state(tmp_path, port=state.port)

    restarted = asyncio.create_task(restart_later())
    found = await repos.runs.get("acme", "r1")
    assert found.run_id == "r1"
    await (await restarted).server.stop(0)


async def test_a_call_gives_up_after_its_retry_budget(state):
    settings = router_settings(state)
    channel = channels.open_channel(
        settings.state_endpoint, settings, as_identity=channels.mesh_identity("router")
    )
    await state.server.stop(0)
    with pytest.raises(errors.Unavailable):
        await call(
            state_pb2_grpc.StateServiceStub(channel).GetRun,
            state_pb2.GetRunRequest(tenant="acme", run_id="r1"),
            retry_for=0.3,
        )
    await channel.close()
