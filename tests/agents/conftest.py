"""Fixtures for agent tests: real agent servers on 127.0.0.1 port 0."""

from __future__ import annotations

import grpc
import pytest

from airspace.agent.v1 import agent_pb2_grpc
from airspace.agents.kit import Agent, AgentSettings


@pytest.fixture
async def connect():
    """connect(agent) serves the agent on a free port and returns a stub talking to it."""
    opened = []

    async def connect(agent: Agent, **settings) -> agent_pb2_grpc.AgentServiceStub:
        srv = agent.build_server(AgentSettings(port=0, **settings))
        port = await srv.start()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        opened.append((srv, channel))
        return agent_pb2_grpc.AgentServiceStub(channel)

    yield connect
    for srv, channel in opened:
        await channel.close()
        await srv.stop(0)
