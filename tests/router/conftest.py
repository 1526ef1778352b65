import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from harness import Router  # noqa: E402


@pytest.fixture
async def router():
    started = Router()
    yield started
    await started.close()
