"""Registry changes on every state store implementation: each committed change of a
workflow or an agent is announced to the subscribers, in order, and nothing else is;
a subscriber that falls behind, or outlives its store, is told that it may miss some."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from state_helpers import struct

from airspace.mesh import errors
from airspace.state.registry_changes import MAX_BACKLOG, WORKFLOW, RegistryChanges, change
from airspace.state.v1 import state_pb2
from airspace.v1 import agent_registry_pb2, workflow_pb2

pytestmark = pytest.mark.unit

AGENT = state_pb2.REGISTRY_KIND_AGENT


def workflow(name: str, steps: list[str]) -> workflow_pb2.Workflow:
    return workflow_pb2.Workflow(workflow=name, tenant="acme", spec=struct(steps=steps))


async def taken(changes: AsyncIterator[state_pb2.RegistryChange], count: int) -> list[tuple]:
    """The next `count` changes, as (kind, tenant, name, revision)."""
    found: list[tuple] = []
    async with asyncio.timeout(10):
        async for registry_change in changes:
            found.append(
                (
                    registry_change.kind,
                    registry_change.tenant,
                    registry_change.name,
                    registry_change.revision,
                )
            )
            if len(found) == count:
                return found
    raise AssertionError(f"the changes ended after {found}")


async def test_every_committed_change_is_announced_in_order(store):
    async with store.registry_changes.subscribe() as changes:
        await store.workflows.put_workflow(workflow("review", ["a"]))
        await store.workflows.put_workflow(workflow("review", ["a"]))  # the same: no change
        await store.workflows.put_workflow(workflow("review", ["a", "b"]))
        await store.workflows.delete_workflow("acme", "review")
        agent = agent_registry_pb2.Agent(agent="writer", tenant="acme", endpoint="h:1")
        first = await store.agents.put_agent(agent)
        agent.endpoint = "h:2"
        second = await store.agents.put_agent(agent)
        await store.agents.delete_agent("acme", "writer")
        assert await taken(changes, 6) == [
            (WORKFLOW, "acme", "review", 1),
            (WORKFLOW, "acme", "review", 2),
            (WORKFLOW, "acme", "review", 0),
            (AGENT, "acme", "writer", first.register_time.ToMicroseconds()),
            (AGENT, "acme", "writer", second.register_time.ToMicroseconds()),
            (AGENT, "acme", "writer", 0),
        ]


async def test_a_refused_change_is_not_announced(store):
    async with store.registry_changes.subscribe() as changes:
        with pytest.raises(errors.NotFound):
            await store.workflows.delete_workflow("acme", "review")
        with pytest.raises(errors.NotFound):
            await store.agents.delete_agent("acme", "writer")
        await store.workflows.put_workflow(workflow("triage", ["t"]))
        assert await taken(changes, 1) == [(WORKFLOW, "acme", "triage", 1)]


async def test_subscriptions_end_when_their_store_closes(open_store, clock):
    opened = open_store(clock)
    async with opened.registry_changes.subscribe() as changes:
        await opened.close()
        with pytest.raises(errors.Unavailable):
            await taken(changes, 1)


async def test_a_subscriber_that_falls_behind_is_told_it_missed_changes():
    hub = RegistryChanges()
    async with hub.subscribe() as behind, hub.subscribe() as keeping_up:
        for version in range(1, MAX_BACKLOG + 2):
            hub.publish(change(WORKFLOW, "acme", "review", version))
            if version <= MAX_BACKLOG:
                assert await taken(keeping_up, 1) == [(WORKFLOW, "acme", "review", version)]
        with pytest.raises(errors.Unavailable):
            await taken(behind, 1)
        assert await taken(keeping_up, 1) == [(WORKFLOW, "acme", "review", MAX_BACKLOG + 1)]
    assert hub.subscribers() == 0
