"""`airspace up --tls` as real processes: every hop is TLS (mutual inside the mesh, the
sample agents included), the CLI works through credentials.json's CA, and a plaintext
client of the gateway is refused."""

from __future__ import annotations

import json
import signal
import sys

import grpc
import pytest
from up_support import CONTRACT, cli, start_up

from airspace.cli.processes import free_port
from airspace.v1 import run_pb2, run_pb2_grpc

pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]


def test_up_with_tls_runs_a_workflow_and_refuses_plaintext(tmp_path):
    home, port = tmp_path / "home", free_port()
    up, printed = start_up(home, port, "--tls")
    try:
        assert any("(TLS)" in line for line in printed), printed
        credentials = json.loads((home / "credentials.json").read_text())
        assert credentials["tls_ca_file"] == str(home / "tls" / "ca.pem")

        run_input = tmp_path / "input.json"
        run_input.write_text(json.dumps({"text": CONTRACT.read_text()}))
        ran = cli(home, "run", "contract-review", "--input", f"@{run_input}", "--json")
        assert ran.returncode == 0, ran.stderr
        events = [json.loads(line) for line in ran.stdout.splitlines() if line.startswith("{")]
        assert events[-1]["run_state_changed"]["to"] == "RUN_STATE_COMPLETED", events[-1]

        with (
            grpc.insecure_channel(f"127.0.0.1:{port}") as plaintext,
            pytest.raises(grpc.RpcError) as refused,
        ):
            run_pb2_grpc.RunServiceStub(plaintext).ListRuns(
                run_pb2.ListRunsRequest(),
                metadata=(("authorization", f"Bearer {credentials['api_key']}"),),
                timeout=5,
            )
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        up.send_signal(signal.SIGINT)
        assert up.wait(30) == 0
