"""`airspace demo` as a newcomer runs it: every scenario told, exit 0, nothing left running."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from up_support import mesh_processes

pytestmark = pytest.mark.process

TITLES = (
    "Contract intake · sequential",
    "Customer issue review · concurrent",
    "Support escalation · handoff",
    "Planning review · group chat",
)
RUNS = 6  # one per sample input: the support escalation takes three tickets


@pytest.mark.timeout(300)
def test_the_demo_tells_every_scenario_and_leaves_no_process_behind(tmp_path):
    demo = subprocess.Popen(
        [sys.executable, "-m", "airspace.cli.main", "demo", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        cwd=tmp_path,
    )
    out, _ = demo.communicate(timeout=280)
    assert demo.returncode == 0, out
    for title in TITLES:
        assert title in out
    # Each account: the run's headline, its path and where to look next.
    assert out.count(" COMPLETED in ") == RUNS, out
    assert out.count("\nlook next\n") == RUNS
    assert "masked for summary-writer: mask email" in out
    assert (
        "conflict in aggregate: billing=billing, usage=product; resolved by the synthesizer" in out
    )
    assert "handoff compliance-specialist → legal-counsel refused" in out
    assert "user:approver $ airspace approvals reject" in out
    assert "mesh stopped; every process exited" in out
    assert mesh_processes(demo) == []
    assert (tmp_path / ".airspace" / "demo" / "state.db").exists()
