"""`python -m bench --quick --json FILE --check` end to end at a small scale: real meshes,
the floor, the baseline and a few parked runs. Checks the figures are there and counted,
never how fast."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

from bench import parked_runs, targets

pytestmark = pytest.mark.process

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROCESSES = {"gateway", "router", "state", "policy", "tracing", "agents", "client"}
RATIOS = {
    "airspace_over_langgraph",
    "fanout_over_slowest_branch",
    "tracing_off_over_on",
    "mesh_cpu_over_floor",
    "mesh_cpu_over_floor_unary",
    "mesh_cpu_over_floor_at_mesh_rate",
    "gateway_hop_router_over_gateway",
}


@pytest.mark.timeout(480)
def test_a_quick_run_writes_every_figure_and_checks_the_targets(tmp_path):
    path = tmp_path / "bench.json"
    home = tmp_path / "home"  # kept, so a failure can show the services' logs
    command = [
        sys.executable,
        "-m",
        "bench",
        "--quick",
        "--skip-growth",
        "--skip-scale-out",
        "--skip-edge",
        "--concurrency",
        "2",
    ]
    command += ["--home", str(home)]
    finished = subprocess.run(
        [*command, "--json", str(path), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=460,
    )
    assert path.exists(), finished.stdout + finished.stderr + service_logs(home)
    found = json.loads(path.read_text())
    assert all(m["failed"] == 0 for m in found["measurements"].values()), finished.stdout
    assert found["floor"]["runs_per_s"] > 0 and found["floor"]["cpu_ms_per_run"] > 0
    assert set(found["floor"]["cpu_ms_per_run_by_process"]) == {
        "relay",
        "orchestrator",
        "agents",
        "client",
    }
    assert found["floor_at_mesh_rate"]["runs_per_s"] > 0
    assert found["floor_at_mesh_rate"]["cpu_ms_per_run"] > 0
    assert set(found["mesh"]["cpu_ms_per_run_by_process"]) == PROCESSES
    assert found["mesh"]["cpu_ms_per_run"] > 0
    assert set(found["mesh_unary"]["cpu_ms_per_run_by_process"]) == PROCESSES
    assert found["mesh_unary"]["runs_per_s"] > 0 and found["mesh_unary"]["cpu_ms_per_run"] > 0
    counted = found["counts"]
    assert counted["runs_counted"] > 0
    assert counted["internal_calls_per_run"] > 0 and counted["fsyncs_per_run"] > 0
    assert counted["internal_calls_per_run_by_method"]["StateService/BatchWriteRuns"] > 0
    assert set(counted["fsyncs_per_run_by_store"]) == {
        "state_store",
        "policy_audit_log",
        "policy_audit_witness",
    }
    assert set(found["ratios"]) == RATIOS
    parked = found["parked"]
    assert parked["runs"] == parked_runs.QUICK.runs
    assert parked["completed"] == parked["runs"] and parked["runs_not_completed"] == 0
    assert parked["router_rss_kb_parked"] > 0 and parked["kb_per_parked_run"] is not None
    assert set(parked["idle_cpu_percent_by_process"]) == {"router", "state"}
    assert set(found["targets"]) == {target.figure for target in targets.TARGETS}
    assert all(isinstance(verdict["met"], bool) for verdict in found["targets"].values())
    # --check: exit 1 exactly when a target is missed, naming each one.
    assert finished.returncode == (0 if found["targets_met"] else 1), finished.stderr
    for figure, verdict in found["targets"].items():
        assert (f"missed: {figure} = " in finished.stdout) is not verdict["met"]


def service_logs(home: pathlib.Path) -> str:
    """The tail of every service log the run left, for a failure's message."""
    tails = [
        f"\n--- {log.relative_to(home)}\n" + "\n".join(log.read_text().splitlines()[-15:])
        for log in sorted(home.rglob("*.log"))
    ]
    return "".join(tails)
