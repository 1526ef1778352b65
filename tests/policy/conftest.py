"""Policy service fixtures: a real server on 127.0.0.1 port 0 with a bundle folder and an
audit database in tmp_path (policy_servers.py starts more)."""

from __future__ import annotations

import pytest
from policy_servers import policy_settings, start_policy


@pytest.fixture
async def policy_server(tmp_path):
    running = await start_policy(policy_settings(tmp_path))
    yield running
    await running.stop()
