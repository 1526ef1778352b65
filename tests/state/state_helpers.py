"""Builders and checks shared by the state service tests."""

from __future__ import annotations

import threading

import grpc
from google.protobuf import struct_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from airspace.mesh import channels, identity
from airspace.v1 import run_pb2

MESH_KEY = b"state-tests-mesh-key-0123456789abcdef"
ROUTER = channels.mesh_identity("router")


class Clock:
    """Epoch seconds that tick one millisecond per reading (so creation order is
    time order) and jump forward on demand (for TTLs, leases and deadlines)."""

    def __init__(self, start: float = 1_700_000_000.0):
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self._now += 0.001
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


def make_run(run_id: str, *, tenant: str = "acme", workflow: str = "review") -> run_pb2.Run:
    run = run_pb2.Run(run_id=run_id, tenant=tenant, request_id=f"req-{run_id}")
    run.workflow.name = workflow
    run.workflow.version = 1
    run.input.update({"question": "why?"})
    return run


def started(step: str = "draft") -> run_pb2.RunEvent:
    return run_pb2.RunEvent(step_key=step, step_started=run_pb2.StepStarted(step_name=step))


def struct(**values) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(values)
    return result


def value(text: str) -> struct_pb2.Value:
    return struct_pb2.Value(string_value=text)


def error_details(error: grpc.RpcError) -> tuple[str, list[str]]:
    """(ErrorInfo reason, BadRequest field paths) of a failed call."""
    reason, fields = "", []
    for detail in rpc_status.from_call(error).details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields = [violation.field for violation in bad.field_violations]
    return reason, fields


async def expect_error(call, code: grpc.StatusCode, *, reason: str = "", field: str = ""):
    """Awaits a call that must fail with `code` (and the ErrorInfo reason and field
    violation, when given); returns the error."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        assert error.code() == code, error.details()
        got_reason, fields = error_details(error)
        if reason:
            assert got_reason == reason
        if field:
            assert field in fields, fields
        return error
    raise AssertionError(f"the call succeeded; expected {code.name}")


def signed(caller: identity.Identity = ROUTER) -> tuple[tuple[str, str], ...]:
    """The identity header, sent explicitly on streaming calls: grpc.aio registers a
    channel interceptor for one call type only, so mesh channels do not yet sign streams."""
    return ((identity.METADATA_KEY, identity.sign(caller, MESH_KEY)),)


def version_2_leased_run(clock: Clock) -> tuple[tuple, tuple]:
    """The rows of a run RUNNING under a per-run lease of a router of the release before
    router leases ("old", token 4, an hour from expiring), as inserted into a schema at
    version 2: (runs row: state, data), (leases row: expire_us)."""
    run = make_run("r1")
    run.state = run_pb2.RUN_STATE_RUNNING
    return (run.state, run.SerializeToString()), (int((clock() + 3600) * 1e6),)


async def check_the_old_lease_is_taken_over(store) -> None:
    """After the upgrade to router leases, the first router to claim takes the run of a
    version_2_leased_run over, with a raised token."""
    try:
        epoch = (await store.leases.register_router("router-a", 2)).epoch
        [claimed] = await store.leases.claim_runs("router-a", epoch, 10, min_age_seconds=0)
        assert (claimed.run.run_id, claimed.token, claimed.previous_owner) == ("r1", 5, "old")
    finally:
        await store.close()


# What ListRuns asks when filtered by state (the store adds the page's cursor when given).
STATE_LISTING_SQL = (
    "SELECT data, last_sequence, payload_refs, create_us, run_id FROM runs"
    " WHERE tenant = {0} AND state = {0}"
    " ORDER BY create_us DESC, run_id DESC LIMIT 51"
)


def version_4_runs() -> list[tuple]:
    """Runs of acme, oldest first, as inserted into a schema at version 4:
    (run_id, state, create_us, data); r1 and r3 RUNNING, r2 COMPLETED."""
    rows = []
    for number, state in enumerate(
        (run_pb2.RUN_STATE_RUNNING, run_pb2.RUN_STATE_COMPLETED, run_pb2.RUN_STATE_RUNNING), 1
    ):
        run = make_run(f"r{number}")
        run.state = state
        rows.append((run.run_id, state, number, run.SerializeToString()))
    return rows


async def check_runs_listed_by_state(store) -> None:
    """The runs of version_4_runs, listed by state after the upgrade, newest first."""
    try:
        listed = await store.runs.list_runs(
            "acme", workflow="", state=run_pb2.RUN_STATE_RUNNING, page_size=50, page_token=""
        )
        assert [run.run_id for run in listed.items] == ["r3", "r1"]
    finally:
        await store.close()
