"""Fixtures for agent tests: real agent servers on 127.0.0.1 port 0."""

from __future__ import annotations

import grpc
import pytest

from airspace.agent.v1 import agent_pb2_grpc
from airspace.agents.kit import Agent, AgentSettings


@pytest.fixture
async def serve(tmp_path):
    """serve(agent) serves the agent on a free port, its result store under tmp_path
    unless given, and returns a channel to it."""
    opened = []

    async def serve(agent: Agent, **settings) -> grpc.aio.Channel:
        settings = {"result_store_path": str(tmp_path / f"{agent.name}.results.db")} | settings
        srv = agent.build_server(AgentSettings(port=0, **settings))
        port = await srv.start()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        opened.append((srv, channel))
        return channel

    yield serve
    for srv, channel in opened:
        await channel.close()
        await srv.stop(0)


@pytest.fixture
def connect(serve):
    """connect(agent) serves the agent (see serve) and returns a stub talking to it."""

    async def connect(agent: Agent, **settings) -> agent_pb2_grpc.AgentServiceStub:
        return agent_pb2_grpc.AgentServiceStub(await serve(agent, **settings))

    return connect
