"""Fixtures for the Node.js agent: its process on 127.0.0.1 port 0, and the in-process mesh.

Tests here need `node` (CI has Node 20) and the agent's packages (`npm ci --prefix
agents/node`); without node they are skipped, without the packages they fail saying so.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import shutil
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
NODE_AGENT = ROOT / "agents" / "node"
READY_TIMEOUT_SECONDS = 20.0

sys.path.insert(0, str(ROOT / "tests" / "e2e"))  # the mesh harness of the end-to-end tests
from mesh_support import Mesh  # noqa: E402


@pytest.fixture
async def node_agent():
    """start(**env) runs agents/node/index.js and returns its HOST:PORT; all stop at the end."""
    if not (NODE_AGENT / "node_modules").is_dir():
        pytest.fail("the Node agent's packages are missing: run `npm ci --prefix agents/node`")
    processes = []

    async def start(**env: str) -> str:
        process = await asyncio.create_subprocess_exec(
            shutil.which("node"),
            str(NODE_AGENT / "index.js"),
            "--port",
            "0",
            env={**os.environ, **env},
            stdout=asyncio.subprocess.PIPE,
        )
        processes.append(process)
        line = await asyncio.wait_for(process.stdout.readline(), READY_TIMEOUT_SECONDS)
        if not line.startswith(b"READY "):
            pytest.fail(f"the Node agent did not start (said {line!r})")
        return f"127.0.0.1:{line.split()[2].decode()}"

    yield start
    for process in processes:
        if process.returncode is None:
            process.terminate()  # SIGTERM: the agent flushes its spans and exits
        await process.wait()


@pytest.fixture
async def mesh(tmp_path):
    started = Mesh(tmp_path)
    await started.start()
    yield started
    await started.stop()
