"""Fixtures for A2A interop: the in-process mesh and a2a-sdk agent servers."""

from __future__ import annotations

import pathlib
import sys

import pytest
from a2a_agents import serve_a2a

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))  # the mesh harness of the end-to-end tests
from mesh_support import Mesh  # noqa: E402


@pytest.fixture
async def mesh(tmp_path):
    started = Mesh(tmp_path)
    await started.start()
    yield started
    await started.stop()


@pytest.fixture
async def a2a_server():
    """serve(executor, card) starts an a2a-sdk gRPC server and returns its HOST:PORT."""
    servers = []

    async def serve(executor, card) -> str:
        endpoint, server = await serve_a2a(executor, card)
        servers.append(server)
        return endpoint

    yield serve
    for server in servers:
        await server.stop(0)
