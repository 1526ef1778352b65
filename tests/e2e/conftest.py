"""Fixtures for end-to-end tests: the whole mesh over real gRPC (see mesh_support.py)."""

import pytest
from mesh_support import Mesh


@pytest.fixture
async def mesh(tmp_path):
    started = Mesh(tmp_path)
    await started.start()
    yield started
    await started.stop()
