"""StateService over real gRPC: runs, event logs, journals, watching, access and durability."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf import field_mask_pb2
from state_helpers import error_details, expect_error, make_run, signed, started

from airspace.mesh import channels, identity
from airspace.state.v1 import state_pb2, state_pb2_grpc
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh

INVALID = grpc.StatusCode.INVALID_ARGUMENT
RUNNING, COMPLETED = run_pb2.RUN_STATE_RUNNING, run_pb2.RUN_STATE_COMPLETED


async def create(stub, run_id: str, tenant: str = "acme") -> run_pb2.Run:
    response = await stub.CreateRun(state_pb2.CreateRunRequest(run=make_run(run_id, tenant=tenant)))
    return response.run


def update(run_id: str, *paths: str, expected=(), **fields) -> state_pb2.UpdateRunRequest:
    return state_pb2.UpdateRunRequest(
        tenant="acme",
        run=run_pb2.Run(run_id=run_id, **fields),
        update_mask=field_mask_pb2.FieldMask(paths=list(paths)),
        expected_states=list(expected),
    )


def append(run_id: str, *events, journal=(), **options) -> state_pb2.AppendEventsRequest:
    return state_pb2.AppendEventsRequest(
        tenant="acme", run_id=run_id, events=list(events), journal_entries=list(journal), **options
    )


def journaled(step: str) -> state_pb2.JournalEntry:
    return state_pb2.JournalEntry(step_key=step, step_name=step, attempt=1)


async def test_create_run_is_idempotent_and_readable(stub):
    first = await stub.CreateRun(state_pb2.CreateRunRequest(run=make_run("r1")))
    assert first.created and first.run.state == run_pb2.RUN_STATE_QUEUED
    again = await stub.CreateRun(state_pb2.CreateRunRequest(run=make_run("r1")))
    assert not again.created and again.run == first.run
    got = await stub.GetRun(state_pb2.GetRunRequest(tenant="acme", run_id="r1"))
    assert got.run == first.run


async def test_create_run_names_every_missing_field(stub):
    error = await expect_error(stub.CreateRun(state_pb2.CreateRunRequest()), INVALID)
    assert error_details(error)[1] == ["run.run_id", "run.tenant", "run.request_id"]


async def test_list_runs_pages_newest_first_and_filters(stub):
    for run_id in ("r1", "r2", "r3"):
        await create(stub, run_id)
    await stub.UpdateRun(update("r2", "state", state=RUNNING))
    first = await stub.ListRuns(state_pb2.ListRunsRequest(tenant="acme", page_size=2))
    rest = await stub.ListRuns(
        state_pb2.ListRunsRequest(tenant="acme", page_size=2, page_token=first.next_page_token)
    )
    assert [r.run_id for r in [*first.runs, *rest.runs]] == ["r3", "r2", "r1"]
    assert rest.next_page_token == ""
    running = await stub.ListRuns(state_pb2.ListRunsRequest(tenant="acme", state=RUNNING))
    assert [r.run_id for r in running.runs] == ["r2"]
    await expect_error(
        stub.ListRuns(state_pb2.ListRunsRequest(tenant="acme", page_size=-1)),
        INVALID,
        field="page_size",
    )
    await expect_error(
        stub.ListRuns(state_pb2.ListRunsRequest(tenant="acme", page_token="%%%")),
        INVALID,
        field="page_token",
    )


async def test_update_run_applies_the_mask_and_checks_states(stub):
    await create(stub, "r1")
    running = await stub.UpdateRun(
        update(
            "r1",
            "state",
            "trace_id",
            expected=[run_pb2.RUN_STATE_QUEUED],
            state=RUNNING,
            trace_id="ab",
        )
    )
    assert (running.run.state, running.run.trace_id) == (RUNNING, "ab")
    assert not running.run.HasField("end_time")
    await expect_error(
        stub.UpdateRun(update("r1", "state", expected=[run_pb2.RUN_STATE_QUEUED], state=RUNNING)),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="RUN_STATE_MISMATCH",
    )
    done = await stub.UpdateRun(update("r1", "state", state=COMPLETED))
    assert done.run.HasField("end_time") and done.run.trace_id == "ab"
    await expect_error(
        stub.UpdateRun(update("r1", "state", "input")), INVALID, field="update_mask.paths[1]"
    )
    await expect_error(stub.UpdateRun(update("r1")), INVALID, field="update_mask")
    await expect_error(stub.UpdateRun(update("r1", "state")), INVALID, field="run.state")
    await expect_error(
        stub.UpdateRun(update("r9", "state", state=RUNNING)), grpc.StatusCode.NOT_FOUND
    )


async def test_append_events_and_read_them_back(stub):
    await create(stub, "r1")
    first = await stub.AppendEvents(append("r1", started("a"), started("b")))
    assert first.last_sequence == 2
    second = await stub.AppendEvents(
        append("r1", started("c"), journal=[journaled("a")], expected_last_sequence=2)
    )
    assert second.last_sequence == 3
    listed = await stub.ListEvents(
        state_pb2.ListEventsRequest(tenant="acme", run_id="r1", after_sequence=1, page_size=1)
    )
    assert [(e.sequence, e.step_key) for e in listed.events] == [(2, "b")]
    assert not listed.run_ended
    journal = await stub.GetJournal(state_pb2.GetJournalRequest(tenant="acme", run_id="r1"))
    assert [entry.step_key for entry in journal.entries] == ["a"]
    run = await stub.GetRun(state_pb2.GetRunRequest(tenant="acme", run_id="r1"))
    assert run.run.last_event_sequence == 3


async def test_append_events_refusals(stub):
    await create(stub, "r1")
    await stub.AppendEvents(append("r1", started("a"), journal=[journaled("a")]))
    await expect_error(
        stub.AppendEvents(append("r1", started(), expected_last_sequence=0)),
        grpc.StatusCode.ABORTED,
        reason="SEQUENCE_MISMATCH",
    )
    await expect_error(
        stub.AppendEvents(append("r1", started("x"), journal=[journaled("a")])),
        grpc.StatusCode.ALREADY_EXISTS,
        reason="STEP_ALREADY_JOURNALED",
    )
    await expect_error(
        stub.AppendEvents(append("r1", started(), lease_owner="router-a")),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="LEASE_NOT_HELD",
    )
    listed = await stub.ListEvents(state_pb2.ListEventsRequest(tenant="acme", run_id="r1"))
    assert [e.sequence for e in listed.events] == [1]
    await expect_error(stub.AppendEvents(append("r1")), INVALID, field="events")
    await expect_error(
        stub.AppendEvents(append("r1", started(), run_pb2.RunEvent())),
        INVALID,
        field="events[1].kind",
    )
    await expect_error(
        stub.AppendEvents(append("r1", run_pb2.RunEvent(run_id="r2", step_started={}))),
        INVALID,
        field="events[0].run_id",
    )
    await expect_error(
        stub.AppendEvents(append("r1", started(), journal=[state_pb2.JournalEntry()])),
        INVALID,
        field="journal_entries[0].step_key",
    )
    await expect_error(
        stub.ListEvents(state_pb2.ListEventsRequest(tenant="acme", run_id="r1", page_size=-5)),
        INVALID,
        field="page_size",
    )


async def test_appends_holding_the_lease_go_through(stub):
    await create(stub, "r1")
    registered = await stub.RegisterRouter(
        state_pb2.RegisterRouterRequest(router_id="router-a", ttl={"seconds": 30})
    )
    lease = await stub.ClaimRun(
        state_pb2.ClaimRunRequest(run_id="r1", router_id="router-a", epoch=registered.epoch)
    )
    assert lease.acquired
    appended = await stub.AppendEvents(
        append("r1", started(), lease_owner="router-a", lease_token=lease.fencing_token)
    )
    assert appended.last_sequence == 1


async def test_a_run_claimed_in_its_create_run_needs_no_claim_run(stub):
    registered = await stub.RegisterRouter(
        state_pb2.RegisterRouterRequest(router_id="router-a", ttl={"seconds": 30})
    )
    claim = state_pb2.RunClaim(router_id="router-a", epoch=registered.epoch)
    created = await stub.CreateRun(state_pb2.CreateRunRequest(run=make_run("r1"), claim=claim))
    assert (created.created, created.fencing_token) == (True, 1)
    ended = run_pb2.Run(run_id="r1", state=COMPLETED)
    appended = await stub.AppendEvents(
        append(
            "r1",
            started(),
            lease_owner="router-a",
            lease_token=created.fencing_token,
            run_update=state_pb2.RunUpdate(run=ended, update_mask={"paths": ["state"]}),
        )
    )
    assert appended.run.state == COMPLETED
    # The ending freed the lease: another router's claim gets it without a takeover.
    other = await stub.RegisterRouter(
        state_pb2.RegisterRouterRequest(router_id="router-b", ttl={"seconds": 30})
    )
    freed = await stub.ClaimRun(
        state_pb2.ClaimRunRequest(run_id="r1", router_id="router-b", epoch=other.epoch)
    )
    assert (freed.acquired, freed.fencing_token, freed.previous_owner) == (True, 2, "")


async def test_concurrent_appends_over_grpc_are_gap_free(stub):
    await create(stub, "r1")
    responses = await asyncio.gather(
        *(stub.AppendEvents(append("r1", started())) for _ in range(40))
    )
    assert sorted(r.last_sequence for r in responses) == list(range(1, 41))
    listed = await stub.ListEvents(state_pb2.ListEventsRequest(tenant="acme", run_id="r1"))
    assert [e.sequence for e in listed.events] == list(range(1, 41))


async def test_watch_delivers_stored_and_live_events_and_ends_with_the_run(stub):
    await create(stub, "r1")
    await stub.AppendEvents(append("r1", started("a")))
    call = stub.WatchEvents(
        state_pb2.WatchEventsRequest(tenant="acme", run_id="r1"), metadata=signed(), timeout=30
    )
    assert (await call.read()).step_key == "a"
    await stub.AppendEvents(append("r1", started("b")))
    assert (await call.read()).sequence == 2
    ended = run_pb2.RunEvent(
        run_state_changed=run_pb2.RunStateChanged(to=COMPLETED, **{"from": RUNNING})
    )
    await stub.AppendEvents(append("r1", ended))
    await stub.UpdateRun(update("r1", "state", state=COMPLETED))
    last = await call.read()
    assert last.sequence == 3 and last.HasField("run_state_changed")
    assert await call.read() is grpc.aio.EOF
    assert await call.code() == grpc.StatusCode.OK


async def test_watch_of_an_ended_run_replays_after_the_cursor_then_ends(stub):
    await create(stub, "r1")
    await stub.AppendEvents(append("r1", started("a"), started("b"), started("c")))
    await stub.UpdateRun(update("r1", "state", state=COMPLETED))
    call = stub.WatchEvents(
        state_pb2.WatchEventsRequest(tenant="acme", run_id="r1", after_sequence=1),
        metadata=signed(),
        timeout=30,
    )
    assert [event.sequence async for event in call] == [2, 3]


async def test_watch_stops_cleanly_when_the_client_cancels(start_server, connect):
    started_server = await start_server()
    stub = connect(started_server.port)
    await create(stub, "r1")
    call = stub.WatchEvents(
        state_pb2.WatchEventsRequest(tenant="acme", run_id="r1"), metadata=signed(), timeout=30
    )
    await stub.AppendEvents(append("r1", started()))
    assert (await call.read()).sequence == 1
    signals = started_server.store.runs._signals
    assert signals.watched_runs() == 1
    call.cancel()
    assert await call.code() == grpc.StatusCode.CANCELLED
    while signals.watched_runs():
        await asyncio.sleep(0.01)


async def test_watch_of_an_unknown_run_is_not_found(stub):
    call = stub.WatchEvents(
        state_pb2.WatchEventsRequest(tenant="acme", run_id="nope"), metadata=signed(), timeout=30
    )
    await expect_error(call.read(), grpc.StatusCode.NOT_FOUND)


async def test_another_tenant_sees_not_found(stub):
    await create(stub, "r1")
    await stub.AppendEvents(append("r1", started()))
    not_found = grpc.StatusCode.NOT_FOUND
    await expect_error(
        stub.GetRun(state_pb2.GetRunRequest(tenant="globex", run_id="r1")), not_found
    )
    await expect_error(
        stub.ListEvents(state_pb2.ListEventsRequest(tenant="globex", run_id="r1")), not_found
    )
    await expect_error(
        stub.GetJournal(state_pb2.GetJournalRequest(tenant="globex", run_id="r1")), not_found
    )
    foreign = append("r1", started())
    foreign.tenant = "globex"
    await expect_error(stub.AppendEvents(foreign), not_found)
    listed = await stub.ListRuns(state_pb2.ListRunsRequest(tenant="globex"))
    assert list(listed.runs) == []


async def test_only_mesh_services_may_call(start_server, connect):
    port = (await start_server()).port
    user = identity.Identity(principal="user:ann", tenant="acme", roles=("admin",), kind="user")
    as_user = connect(port, user)
    await expect_error(
        as_user.GetRun(state_pb2.GetRunRequest(tenant="acme", run_id="r1")),
        grpc.StatusCode.PERMISSION_DENIED,
    )
    watch = as_user.WatchEvents(
        state_pb2.WatchEventsRequest(tenant="acme", run_id="r1"), metadata=signed(user)
    )
    await expect_error(watch.read(), grpc.StatusCode.PERMISSION_DENIED)
    agent = identity.Identity(principal="agent:writer", tenant="acme", kind="agent")
    await expect_error(
        connect(port, agent).CreateRun(state_pb2.CreateRunRequest(run=make_run("r1"))),
        grpc.StatusCode.PERMISSION_DENIED,
    )
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as anonymous:
        await expect_error(
            state_pb2_grpc.StateServiceStub(anonymous).GetRun(
                state_pb2.GetRunRequest(tenant="acme", run_id="r1")
            ),
            grpc.StatusCode.UNAUTHENTICATED,
        )
    mesh = connect(port, channels.mesh_identity("gateway"))
    await create(mesh, "r1")


async def test_a_new_server_on_the_same_file_keeps_everything(start_server, connect):
    first = await start_server()
    stub = connect(first.port)
    await create(stub, "r1")
    await stub.AppendEvents(append("r1", started("a"), journal=[journaled("a")]))
    await first.server.stop(0)

    stub = connect((await start_server()).port)
    run = await stub.GetRun(state_pb2.GetRunRequest(tenant="acme", run_id="r1"))
    assert run.run.last_event_sequence == 1
    journal = await stub.GetJournal(state_pb2.GetJournalRequest(tenant="acme", run_id="r1"))
    assert [entry.step_key for entry in journal.entries] == ["a"]
    again = await stub.CreateRun(state_pb2.CreateRunRequest(run=make_run("r1")))
    assert not again.created
