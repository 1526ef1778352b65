"""Benchmark test fixtures: the in-process mesh of tests/e2e, serving the bench agents and
workflow, and a PostgreSQL schema of its own (tests/state)."""

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "e2e"))

from mesh_support import Mesh, apply, register  # noqa: E402

from bench.agents import STEP_AGENTS, WORKFLOW_SOURCE, echo_agent  # noqa: E402
from tests.state.postgres_schemas import postgres_schema  # noqa: E402, F401 (a fixture)


@pytest.fixture
async def bench_mesh(tmp_path):
    """(mesh, client): the bench workflow applied, its three agents registered."""
    mesh = Mesh(tmp_path)
    await mesh.start()
    client = mesh.client()
    for name in STEP_AGENTS:
        await register(client, await mesh.serve_agent(echo_agent(name)))
    await apply(client, WORKFLOW_SOURCE)
    yield mesh, client
    await mesh.stop()
