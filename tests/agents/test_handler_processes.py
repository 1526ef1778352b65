"""A CPU-bound handler in the kit's process pool: past the step's deadline its call fails
with DEADLINE_EXCEEDED, its worker process is replaced, and the agent keeps answering
health checks and other calls while it computes."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from agent_helpers import invoke, start_request
from cpu_handlers import spin_or_echo
from grpc_health.v1 import health_pb2, health_pb2_grpc

from airspace.agent.v1 import agent_pb2_grpc
from airspace.agents.kit import Agent

pytestmark = [pytest.mark.process, pytest.mark.timeout(120)]


async def test_a_cpu_bound_handler_is_held_to_its_deadline_off_the_event_loop(serve):
    agent = Agent(name="cruncher", version="1.0.0")
    agent.handler(run_in="process")(spin_or_echo)
    channel = await serve(agent, handler_workers=1)
    stub, health = agent_pb2_grpc.AgentServiceStub(channel), health_pb2_grpc.HealthStub(channel)
    warm = await invoke(stub, start_request("warm", key="warm"), timeout=60)
    assert warm[-1].final.message.parts[0].text == "WARM"

    spinning = asyncio.create_task(invoke(stub, start_request("spin", key="spin"), timeout=3))
    # While the only worker computes, the event loop answers.
    checks = [await health.Check(health_pb2.HealthCheckRequest(), timeout=2) for _ in range(5)]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await spinning

    assert {check.status for check in checks} == {health_pb2.HealthCheckResponse.SERVING}
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    # The spinning worker was ended and replaced: the next call has a worker again.
    after = await invoke(stub, start_request("after", key="after"), timeout=60)
    assert after[-1].final.message.parts[0].text == "AFTER"
    assert agent.executions == {"warm": 1, "spin": 1, "after": 1}
