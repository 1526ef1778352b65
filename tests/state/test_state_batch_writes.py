"""StateService/BatchWriteRuns over real gRPC, on every store: each write is applied as its
own method would apply it and answered alone."""

from __future__ import annotations

import grpc
import pytest
from state_helpers import error_details, expect_error, make_run, started

from airspace.mesh import errors
from airspace.mesh.identity import Identity
from airspace.state.servicer import MAX_BATCH_WRITES
from airspace.state.v1 import state_pb2
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def create_write(run_id: str) -> state_pb2.RunWrite:
    return state_pb2.RunWrite(create_run=state_pb2.CreateRunRequest(run=make_run(run_id)))


def append_write(run_id: str, step: str, expected: int) -> state_pb2.RunWrite:
    request = state_pb2.AppendEventsRequest(
        tenant="acme", run_id=run_id, events=[started(step)], expected_last_sequence=expected
    )
    return state_pb2.RunWrite(append_events=request)


async def batch(stub, *writes: state_pb2.RunWrite) -> list[state_pb2.RunWriteResult]:
    response = await stub.BatchWriteRuns(state_pb2.BatchWriteRunsRequest(writes=writes))
    return list(response.results)


async def test_writes_are_answered_in_order_and_each_one_stands_or_fails_alone(stub):
    created = await batch(stub, create_write("r1"), create_write("r2"))
    assert [result.create_run.run.run_id for result in created] == ["r1", "r2"]
    assert all(result.create_run.created for result in created)

    results = await batch(
        stub,
        append_write("r1", "draft", expected=0),
        append_write("r2", "draft", expected=7),  # not r2's last sequence: refused alone
        create_write("r3"),
        create_write("r1"),  # the same request id again: the existing run, as CreateRun says
    )
    kinds = [result.WhichOneof("result") for result in results]
    assert kinds == ["append_events", "error", "create_run", "create_run"]
    assert results[0].append_events.last_sequence == 1
    refused = errors.from_status(results[1].error)
    assert refused.code == grpc.StatusCode.ABORTED and "not 7" in refused.message
    assert results[2].create_run.created and not results[3].create_run.created

    listed = await stub.ListEvents(state_pb2.ListEventsRequest(tenant="acme", run_id="r2"))
    assert list(listed.events) == []  # the refused append left nothing behind
    listed = await stub.ListEvents(state_pb2.ListEventsRequest(tenant="acme", run_id="r1"))
    assert [event.step_key for event in listed.events] == ["draft"]
    got = await stub.GetRun(state_pb2.GetRunRequest(tenant="acme", run_id="r3"))
    assert got.run.state == run_pb2.RUN_STATE_QUEUED


async def test_a_bad_write_gets_its_own_invalid_argument_naming_its_field(stub):
    results = await batch(
        stub,
        state_pb2.RunWrite(create_run=state_pb2.CreateRunRequest()),
        state_pb2.RunWrite(),
        create_write("r1"),
    )
    missing = errors.from_status(results[0].error)
    assert missing.code == INVALID
    assert [field for field, _ in missing.violations] == [
        "run.run_id",
        "run.tenant",
        "run.request_id",
    ]
    empty = errors.from_status(results[1].error)
    assert empty.code == INVALID and [field for field, _ in empty.violations] == ["write"]
    assert results[2].create_run.created


async def test_a_call_with_no_writes_or_too_many_is_refused_whole(stub):
    error = await expect_error(stub.BatchWriteRuns(state_pb2.BatchWriteRunsRequest()), INVALID)
    assert error_details(error)[1] == ["writes"]
    too_many = [create_write(f"r{index}") for index in range(MAX_BATCH_WRITES + 1)]
    await expect_error(
        stub.BatchWriteRuns(state_pb2.BatchWriteRunsRequest(writes=too_many)),
        INVALID,
        field="writes",
    )
    listed = await stub.ListRuns(state_pb2.ListRunsRequest(tenant="acme"))
    assert list(listed.runs) == []


async def test_only_mesh_services_may_write_in_batches(start_server, connect):
    port = (await start_server()).port
    user = Identity(principal="user:ann", tenant="acme", roles=("admin",), kind="user")
    await expect_error(
        connect(port, user).BatchWriteRuns(
            state_pb2.BatchWriteRunsRequest(writes=[create_write("r1")])
        ),
        grpc.StatusCode.PERMISSION_DENIED,
    )
