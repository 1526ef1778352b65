"""The supervisor of `airspace up` restarts a sample agent that stopped answering its
health check (here: frozen with SIGSTOP, as an event loop stuck in a handler looks from
outside) or that exited, backing off between restarts in a row."""

from __future__ import annotations

import io
import os
import signal
import time

import pytest
from rich.console import Console

from airspace.cli.processes import ManagedProcess, free_port
from airspace.cli.watchdog import FIRST_BACKOFF_SECONDS, MISSES_BEFORE_RESTART, Watchdog
from airspace.mesh import healthcheck

pytestmark = [pytest.mark.process, pytest.mark.timeout(120)]


@pytest.fixture
def agent(tmp_path):
    port = free_port()
    process = ManagedProcess(
        "summary-writer",
        "airspace.agents.samples.summary_writer",
        port,
        {"AIRSPACE_DATA_DIR": str(tmp_path)},
        args=("--port", str(port)),
        log_dir=tmp_path / "logs",
    )
    process.start()
    yield process
    process.kill()


def test_an_agent_that_stops_answering_its_health_check_is_restarted(agent):
    out = io.StringIO()
    watchdog = Watchdog([agent], {"summary-writer"}, Console(file=out, width=200))
    frozen = agent.pid
    os.kill(frozen, signal.SIGSTOP)

    for _ in range(MISSES_BEFORE_RESTART):
        assert agent.pid == frozen  # a miss or two is no reason yet
        watchdog.check()

    assert agent.pid != frozen and agent.restarts == 1
    assert "summary-writer its health check went unanswered 3 times in a row" in out.getvalue()
    assert healthcheck.check(agent.address) == "SERVING"


def test_restarts_in_a_row_back_off(agent):
    out = io.StringIO()
    watchdog = Watchdog([agent], {"summary-writer"}, Console(file=out, width=200))
    agent.kill()
    watchdog.check()
    assert agent.alive() and agent.restarts == 1

    agent.kill()
    watchdog.check()  # right after a restart: the second one waits its backoff
    assert not agent.alive() and agent.restarts == 1
    time.sleep(FIRST_BACKOFF_SECONDS)
    watchdog.check()

    assert agent.alive() and agent.restarts == 2
    assert out.getvalue().count("summary-writer exited; restart") == 2
