"""What keeps an agent's effects exactly-once and its event loop free: results kept by
idempotency key across a restart, one execution per key for concurrent calls, and a
blocking handler held to its deadline while the agent answers everything else."""

from __future__ import annotations

import asyncio
import threading

import grpc
import pytest
from agent_helpers import invoke, start_request
from grpc_health.v1 import health_pb2, health_pb2_grpc

from airspace.agent.v1 import agent_pb2, agent_pb2_grpc
from airspace.agents.kit import Agent, AgentSettings, Reply, Task
from airspace.agents.kit.results import ResultStore

pytestmark = pytest.mark.mesh


def counting_agent(ran: list[str]) -> Agent:
    agent = Agent(name="counter", version="1.0.0")

    @agent.handler
    async def count(task: Task) -> Reply:
        ran.append(task.idempotency_key)
        await task.progress("counting")
        return Reply(text=f"ran {len(ran)}", data={"key": task.idempotency_key})

    return agent


async def test_a_restarted_agent_answers_a_retry_from_its_store_without_running_again(
    tmp_path,
):
    store, ran = tmp_path / "counter.results.db", []
    first = await invoke_once(counting_agent(ran), store, "run-1/s0001-one")
    after_restart = await invoke_once(counting_agent(ran), store, "run-1/s0001-one", attempt=2)

    assert ran == ["run-1/s0001-one"]
    assert [e.WhichOneof("kind") for e in after_restart] == ["final"]
    assert after_restart[0].final == first[-1].final


async def invoke_once(agent: Agent, store, key: str, **fields) -> list[agent_pb2.InvokeEvent]:
    """Serves the agent, makes one call, and stops the server (as a restart would)."""
    srv = agent.build_server(AgentSettings(port=0, result_store_path=str(store)))
    port = await srv.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = agent_pb2_grpc.AgentServiceStub(channel)
            return await invoke(stub, start_request("x", key=key, **fields))
    finally:
        await srv.stop(0)


async def test_concurrent_calls_with_one_key_share_one_execution(connect):
    agent, release, ran = Agent(name="slow", version="1.0.0"), asyncio.Event(), []

    @agent.handler
    async def slow(task: Task) -> Reply:
        ran.append(task.attempt)
        await task.progress("waiting")
        await release.wait()
        return Reply(text="done")

    stub = await connect(agent)
    first = asyncio.create_task(invoke(stub, start_request("x", key="k")))
    while not ran:
        await asyncio.sleep(0.01)
    second = asyncio.create_task(invoke(stub, start_request("x", key="k", attempt=2)))
    await asyncio.sleep(0.2)  # the second call arrives while the first still runs
    release.set()

    first_events, second_events = await first, await second
    assert ran == [1]
    assert [e.WhichOneof("kind") for e in first_events] == ["progress", "final"]
    assert [e.WhichOneof("kind") for e in second_events] == ["final"]
    assert second_events[0].final == first_events[-1].final
    assert agent.executions == {"k": 1}


async def test_a_retry_waiting_on_a_call_whose_router_left_still_gets_its_outcome(connect):
    agent, release, ran = Agent(name="slow", version="1.0.0"), asyncio.Event(), []

    @agent.handler
    async def slow(task: Task) -> Reply:
        ran.append(task.attempt)
        await task.progress("waiting")
        await release.wait()
        return Reply(text="done")

    stub = await connect(agent)
    first = stub.Invoke(timeout=10)
    await first.write(start_request("x", key="k"))
    assert (await first.read()).WhichOneof("kind") == "progress"
    retry = asyncio.create_task(invoke(stub, start_request("x", key="k", attempt=2)))
    await asyncio.sleep(0.2)  # the retry waits on the first call's execution
    first.cancel()  # the first call's router died
    await asyncio.sleep(0.2)
    release.set()

    events = await retry
    assert [e.WhichOneof("kind") for e in events] == ["final"]
    assert ran == [1]


async def test_a_blocking_handler_past_its_deadline_leaves_the_agent_serving(serve):
    agent, unblock = Agent(name="blocker", version="1.0.0"), threading.Event()
    ran = []

    @agent.handler
    def block(task: Task) -> Reply:
        ran.append(task.idempotency_key)
        if task.text == "block":
            unblock.wait(30)
        return Reply(text=f"done {task.text}")

    channel = await serve(agent)
    stub, health = agent_pb2_grpc.AgentServiceStub(channel), health_pb2_grpc.HealthStub(channel)

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await invoke(stub, start_request("block", key="slow"), timeout=0.5)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED

    # The handler is still blocked in its thread: the agent answers everything else.
    checked = await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert checked.status == health_pb2.HealthCheckResponse.SERVING
    other = await invoke(stub, start_request("other", key="other"))
    assert other[-1].final.message.parts[0].text == "done other"

    # Once it finishes, its result answers the router's retry: it never runs twice.
    unblock.set()
    retried = await invoke(stub, start_request("block", key="slow", attempt=2))
    assert retried[-1].final.message.parts[0].text == "done block"
    assert ran == ["slow", "other"]


def test_the_store_forgets_results_past_their_retention(tmp_path):
    kept = ResultStore(tmp_path / "kept.db", capacity=10, retention_seconds=3600)
    expired = ResultStore(tmp_path / "expired.db", capacity=10, retention_seconds=1e-9)
    event = agent_pb2.InvokeEvent(final=agent_pb2.FinalOutput())
    for store in (kept, expired):
        store.put("k", event)

    assert kept.get("k") == event
    assert expired.get("k") is None


def test_a_handler_is_refused_where_it_cannot_run():
    agent = Agent(name="x", version="1.0.0")

    async def on_the_loop(task: Task) -> Reply:
        return Reply()

    with pytest.raises(ValueError, match="async handler"):
        agent.handler(run_in="process")(on_the_loop)
    with pytest.raises(ValueError, match="run_in must be one of thread, process"):
        agent.handler(run_in="fiber")(lambda task: Reply())
