"""Fixtures: a real MeshServer serving metrics on a free port, and log capture through the
mesh's formatters."""

from __future__ import annotations

import io
import logging
import pathlib
import sys

import pytest
from observability_support import KEY, PROBE_LOGGER, ProbeAgent

from airspace.agent.v1 import agent_pb2_grpc
from airspace.mesh import logs, server
from airspace.mesh.settings import ServerSettings
from airspace.policy.engine.pii.log_masking import mask_log_text

# The in-process mesh of the end-to-end tests (tests/e2e/mesh_support.py) is reused here.
sys.path.append(str(pathlib.Path(__file__).resolve().parents[1] / "e2e"))


@pytest.fixture
async def probe():
    """A MeshServer with the probe agent and a metrics endpoint on a free port."""
    srv = server.MeshServer("probe", ServerSettings(mesh_key=KEY, metrics_port=0))
    srv.add_service(agent_pb2_grpc.add_AgentServiceServicer_to_server, ProbeAgent())
    await srv.start()
    yield srv
    await srv.stop(0)


@pytest.fixture
def captured_logs():
    """Captures what the probe logs through a mesh formatter: call with "json" or "text"."""
    installed: list[logging.Handler] = []
    logger = logging.getLogger(PROBE_LOGGER)

    def capture(log_format: str) -> io.StringIO:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logs.formatter(log_format, "probe", mask_log_text))
        logger.addHandler(handler)
        installed.append(handler)
        return stream

    previous = logger.level
    logger.setLevel(logging.INFO)
    yield capture
    logger.setLevel(previous)
    for handler in installed:
        logger.removeHandler(handler)
