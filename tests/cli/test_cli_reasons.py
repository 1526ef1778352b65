"""The CLI explains a catalogued reason: a failed run's in `runs show`, a refused call's."""

from __future__ import annotations

import grpc
import pytest
from rich.console import Console

from airspace.cli.commands_runs import run_header
from airspace.cli.output import render_rpc_error
from airspace.mesh import errors
from airspace.mesh.reasons import Reason, explain
from airspace.router.run_errors import failure_status
from airspace.v1 import run_pb2

pytestmark = pytest.mark.unit


def rendered(table) -> str:
    out = Console(width=300, record=True)
    out.print(table)
    return out.export_text()


def test_runs_show_explains_a_failed_runs_reason():
    run = run_pb2.Run(run_id="r-1", state=run_pb2.RUN_STATE_FAILED)
    run.error.CopyFrom(failure_status(Reason.HANDOFF_LOOP, "b already handled it", "s0004-b"))
    text = rendered(run_header(run))
    said = explain(Reason.HANDOFF_LOOP)
    assert "HANDOFF_LOOP at step s0004-b: b already handled it" in text
    assert said.meaning in text and said.action in text


def test_a_failed_run_without_a_catalogued_reason_shows_its_error_alone():
    run = run_pb2.Run(run_id="r-2", state=run_pb2.RUN_STATE_FAILED)
    run.error.code, run.error.message = 13, "the router failed executing the run"
    text = rendered(run_header(run))
    assert "the router failed executing the run" in text and "to do" not in text


class Refused(grpc.RpcError):
    """A refused call as a client sees it: code, details and the status's trailer."""

    def __init__(self, error: errors.MeshError):
        self._status = error.to_status()

    def code(self):
        return grpc.StatusCode.FAILED_PRECONDITION

    def details(self):
        return self._status.message

    def trailing_metadata(self):
        return (("grpc-status-details-bin", self._status.SerializeToString()),)


def test_a_refused_call_says_what_to_do_about_its_reason(capsys):
    refusal = errors.FailedPrecondition("the run has already ended", reason=Reason.RUN_ENDED)
    render_rpc_error(Refused(refusal), "127.0.0.1:50051")
    err = capsys.readouterr().err
    assert "the run has already ended [RUN_ENDED]" in err
    assert f"to do: {explain(Reason.RUN_ENDED).action}" in " ".join(err.split())
