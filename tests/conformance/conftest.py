"""Fixtures for the conformance kit's tests: agent servers on 127.0.0.1 port 0."""

import pytest

from airspace.agents.kit import AgentSettings


@pytest.fixture
async def serve(tmp_path):
    """serve(agent) starts a kit agent and returns its HOST:PORT; all stop at the end."""
    servers = []

    async def start(agent) -> str:
        srv = agent.build_server(AgentSettings(port=0, grace_seconds=0.2, data_dir=str(tmp_path)))
        port = await srv.start()
        servers.append(srv)
        return f"127.0.0.1:{port}"

    yield start
    for srv in servers:
        await srv.stop(0.2)
