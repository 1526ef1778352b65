"""`airspace up` as real processes: a run through the gateway, one trace across processes, clean exits."""

from __future__ import annotations

import json
import signal
import sys
import time

import pytest
from up_support import CONTRACT, cli, mesh_processes, start_up

from airspace.cli.processes import free_port

pytestmark = pytest.mark.process


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_up_runs_a_workflow_traces_it_across_processes_and_stops_cleanly(tmp_path):
    home = tmp_path / "home"
    up, _ = start_up(home, free_port())
    try:
        # state, policy, tracing, router, gateway and the three Python agents (and Node's)
        assert len(mesh_processes(up)) >= 8
        run_input = tmp_path / "input.json"
        run_input.write_text(json.dumps({"text": CONTRACT.read_text()}))
        ran = cli(home, "run", "contract-review", "--input", f"@{run_input}", "--json")
        assert ran.returncode == 0, ran.stderr
        events = [json.loads(line) for line in ran.stdout.splitlines() if line.startswith("{")]
        run_id = events[0]["run_id"]
        shown = cli(home, "runs", "show", run_id)
        assert shown.returncode == 0 and "summary-writer" in shown.stdout
        services = set()
        for _ in range(40):  # spans arrive in batches
            traced = cli(home, "trace", run_id, "--json")
            services = {span["service"] for span in json.loads(traced.stdout).get("spans", [])}
            if {
                "airspace-gateway",
                "airspace-router",
                "contract-extractor",
                "summary-writer",
            } <= services:
                break
            time.sleep(0.25)
        assert {
            "airspace-gateway",
            "airspace-router",
            "contract-extractor",
            "summary-writer",
        } <= services
    finally:
        up.send_signal(signal.SIGINT)
        assert up.wait(30) == 0
    assert mesh_processes(up) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_children_do_not_outlive_a_killed_supervisor(tmp_path):
    home = tmp_path / "home"
    up, _ = start_up(home, free_port())
    children = mesh_processes(up)
    assert len(children) >= 8
    up.kill()
    up.wait(10)
    deadline = time.monotonic() + 15
    while mesh_processes(up) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert mesh_processes(up) == []
