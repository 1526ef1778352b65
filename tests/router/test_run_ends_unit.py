"""What a run's end makes of the calls that follow it, and what makes two run requests
the same request (router/run_outcome.py, router/commands.py)."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import status_pb2

from airspace.mesh.reasons import Reason
from airspace.router import run_errors, run_outcome
from airspace.router.commands import StartRun
from airspace.v1 import run_pb2

pytestmark = pytest.mark.unit


def test_a_failed_run_is_aborted_with_its_reason_its_name_and_where_it_failed():
    error = run_errors.failure_status(Reason.AGENT_TIMEOUT, "no answer", "s0001-a", "slow")
    failure = run_outcome.failure("runs/r1", run_pb2.RUN_STATE_FAILED, error)
    assert failure is not None and failure.code == grpc.StatusCode.ABORTED
    assert failure.reason == "AGENT_TIMEOUT"
    assert failure.metadata == {
        "run": "runs/r1",
        "state": "FAILED",
        "step_key": "s0001-a",
        "agent": "slow",
    }
    assert failure.message == f"runs/r1 FAILED: {error.message}"


def test_a_canceled_run_is_cancelled_and_named_run_canceled_without_a_reason_of_its_own():
    error = status_pb2.Status(code=1, message="canceled by user:ana: wrong input")
    failure = run_outcome.failure("runs/r1", run_pb2.RUN_STATE_CANCELED, error)
    assert failure is not None and failure.code == grpc.StatusCode.CANCELLED
    assert (failure.reason, failure.metadata["state"]) == ("RUN_CANCELED", "CANCELED")


@pytest.mark.parametrize(
    "state", [run_pb2.RUN_STATE_COMPLETED, run_pb2.RUN_STATE_RUNNING, run_pb2.RUN_STATE_QUEUED]
)
def test_a_completed_or_unfinished_run_ends_no_call_with_an_error(state):
    assert run_outcome.failure("runs/r1", state, status_pb2.Status()) is None


def test_only_a_terminal_state_change_ends_a_run():
    def changed(to):
        return run_pb2.RunEvent(run_state_changed=run_pb2.RunStateChanged(to=to))

    assert run_outcome.ended_by(changed(run_pb2.RUN_STATE_COMPLETED)) is not None
    assert run_outcome.ended_by(changed(run_pb2.RUN_STATE_WAITING_APPROVAL)) is None
    assert run_outcome.ended_by(run_pb2.RunEvent(step_started=run_pb2.StepStarted())) is None


def test_a_request_is_the_same_whatever_its_id_and_key_order_and_another_when_it_differs():
    base = StartRun("review", 0, {"a": 1, "b": {"c": [1, 2]}}, {"team": "x"}, "id-1")
    same = StartRun("review", 0, {"b": {"c": [1, 2]}, "a": 1}, {"team": "x"}, "id-2")
    assert base.digest() == same.digest()
    others = [
        StartRun("other", 0, base.input, base.labels),
        StartRun("review", 2, base.input, base.labels),
        StartRun("review", 0, {"a": 2, "b": {"c": [1, 2]}}, base.labels),
        StartRun("review", 0, base.input, {"team": "y"}),
    ]
    assert len({base.digest(), *(other.digest() for other in others)}) == 5
