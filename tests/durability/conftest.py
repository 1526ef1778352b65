"""One mesh of real processes for the whole durability suite: the tests kill and restart
its processes, and each leaves it running again."""

from __future__ import annotations

import pytest
from process_mesh import ProcessMesh


@pytest.fixture(scope="session")
def mesh(tmp_path_factory):
    started = ProcessMesh(tmp_path_factory.mktemp("durability"))
    try:
        started.start()
        yield started
    finally:
        started.stop()
