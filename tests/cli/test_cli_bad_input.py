"""The CLI tells every bad input in a line and exits 2, never with a traceback; statuses
are told by their catalogued reason (`AGENT_DEPENDENCY: ...`), not `UNKNOWN: ...`."""

from __future__ import annotations

import pytest
from google.rpc import code_pb2, status_pb2

from airspace.cli.main import main
from airspace.cli.output import status_text
from airspace.mesh.reasons import Reason
from airspace.router.run_errors import failure_status

pytestmark = pytest.mark.unit

# Nothing listens there: each case must be refused before the CLI calls the gateway.
NOWHERE = ("--gateway", "127.0.0.1:1")


def nested(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


@pytest.fixture
def airspace(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("AIRSPACE_API_KEY", "ask_test")
    monkeypatch.setenv("AIRSPACE_HOME", str(tmp_path))

    def invoke(*argv: str) -> tuple[int, list[str]]:
        code = main([*NOWHERE, *argv])
        return code, capsys.readouterr().err.splitlines()

    return invoke


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (nested(60), "error: --input is nested more than 32 levels deep"),
        (nested(5000), "error: --input: the JSON nests too deeply to read"),
        ('{"total": NaN}', "error: --input.total is nan, a number JSON cannot hold"),
        ('{"total": -Infinity}', "error: --input.total is -inf, a number JSON cannot hold"),
    ],
    ids=["60 levels", "5000 levels", "NaN", "-Infinity"],
)
def test_run_input_the_mesh_would_refuse_is_told_in_one_line(airspace, value, said):
    code, lines = airspace("run", "review", "--input", value)
    assert code == 2 and len(lines) == 1 and lines[0].startswith(said)


def test_a_value_protobuf_refuses_is_told_in_one_line_not_a_traceback(airspace):
    code, lines = airspace("run", "review", "--version", str(2**64))
    assert code == 2 and lines == [f"error: invalid request: Value out of range: {2**64}"]


def test_a_failed_step_is_told_by_its_reason_not_unknown():
    step_error = status_pb2.Status(code=code_pb2.UNKNOWN, message="AGENT_DEPENDENCY: db down")
    assert status_text(step_error) == "AGENT_DEPENDENCY: db down"


def test_a_failed_run_is_told_by_its_reason_and_step():
    error = failure_status(Reason.AGENT_TIMEOUT, "no answer in 20s", "s0001-extract")
    assert status_text(error) == "AGENT_TIMEOUT at step s0001-extract: no answer in 20s"


def test_a_status_without_a_catalogued_reason_is_told_by_its_code():
    canceled = status_pb2.Status(code=code_pb2.CANCELLED, message="canceled by user:olivia")
    assert status_text(canceled) == "CANCELLED: canceled by user:olivia"
