"""Every program the project ships answers `--help` with its usage, and starts nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.process

ENTRY_POINTS = (
    "airspace.cli.main",
    "airspace.gateway.main",
    "airspace.router.main",
    "airspace.state.main",
    "airspace.policy.service.main",
    "airspace.tracing.main",
    "airspace.a2a_bridge.main",
    "airspace.mesh.healthcheck",
    "airspace.agents.samples.host",
    "airspace.agents.samples.contract_extractor",
    "airspace.agents.samples.ticket_triage",
)


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_the_entry_point_answers_help(module):
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("usage: ")
    assert "READY" not in done.stdout
