"""The router's registry cache (router/registry_cache) over in-memory fakes of the state
service's workflows, agents and registry watch: what it serves without a call, what a
change announced drops, that it is bypassed while the watch is down, and that a read
racing a change is never kept."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from prometheus_client import REGISTRY

from airspace.mesh import errors
from airspace.router import agent_registry
from airspace.router.convert import to_struct
from airspace.router.registry_cache.cache import RegistryCache
from airspace.router.registry_cache.follower import RegistryFollower
from airspace.router.registry_cache.repositories import (
    CachingAgentRepository,
    CachingWorkflowRepository,
)
from airspace.router.registry_cache.wiring import cached_registry
from airspace.router.repositories import PageRequest
from airspace.router.repositories.in_memory import (
    InMemoryAgentRepository,
    InMemoryRegistryChanges,
    InMemoryWorkflowRepository,
)
from airspace.router.settings import RouterSettings
from airspace.v1 import agent_registry_pb2, workflow_pb2

pytestmark = pytest.mark.unit

TENANT, OTHER = "acme", "globex"


def workflow(name: str, etag: str, tenant: str = TENANT) -> workflow_pb2.Workflow:
    return workflow_pb2.Workflow(
        workflow=name, tenant=tenant, etag=etag, spec=to_struct({"name": name, "etag": etag})
    )


def agent(name: str, endpoint: str, tenant: str = TENANT) -> agent_registry_pb2.Agent:
    return agent_registry_pb2.Agent(agent=name, tenant=tenant, endpoint=endpoint)


async def until(condition, seconds: float = 10.0) -> None:
    """Lets the follower's task run (and reconnect) until the condition holds."""
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.005)


def lookups(kind: str, result: str) -> float:
    labels = {"kind": kind, "result": result}
    return REGISTRY.get_sample_value("airspace_router_registry_cache_lookups_total", labels) or 0.0


@dataclasses.dataclass
class Registry:
    """The caching repositories in front of fakes, which announce their own changes as
    another router's writes through the state service would be announced."""

    changes: InMemoryRegistryChanges
    stored_workflows: InMemoryWorkflowRepository
    stored_agents: InMemoryAgentRepository
    cache: RegistryCache
    workflows: CachingWorkflowRepository
    agents: CachingAgentRepository
    follower: RegistryFollower

    async def start(self) -> None:
        self.follower.start()
        await until(lambda: self.cache.live)

    async def announced(self) -> None:
        """Returns once the follower took every change announced."""
        await until(lambda: self.changes.pending() == 0)


def registry(*, announcing: bool = True) -> Registry:
    changes = InMemoryRegistryChanges()
    announced_to = changes if announcing else None
    stored_workflows = InMemoryWorkflowRepository(announced_to)
    stored_agents = InMemoryAgentRepository(announced_to)
    cache = RegistryCache(size=8)
    return Registry(
        changes,
        stored_workflows,
        stored_agents,
        cache,
        CachingWorkflowRepository(stored_workflows, cache),
        CachingAgentRepository(stored_agents, cache),
        RegistryFollower(changes, cache),
    )


@pytest.fixture
async def live():
    """A registry whose watch is live."""
    started = registry()
    await started.start()
    yield started
    await started.follower.close()


@pytest.fixture
async def idle():
    """A registry whose watch is not started."""
    started = registry()
    yield started
    await started.follower.close()


# Workflows ----------------------------------------------------------------------


async def test_a_workflow_version_is_read_once_and_served_as_a_copy(idle):
    await idle.stored_workflows.put(workflow("intake", "a"))
    first = await idle.workflows.get(TENANT, "intake", 1)
    first.description = "changed by its reader"
    again = await idle.workflows.get(TENANT, "intake", 1)
    # A version never changes: it is served even while the watch is down.
    assert idle.stored_workflows.reads == 1
    assert again.version == 1 and again.description == ""


async def test_the_latest_version_is_served_until_another_is_announced(live):
    await live.stored_workflows.put(workflow("intake", "a"))
    hits, misses = lookups("workflow", "hit"), lookups("workflow", "miss")
    assert (await live.workflows.get(TENANT, "intake")).version == 1
    assert (await live.workflows.get(TENANT, "intake")).version == 1
    assert live.stored_workflows.reads == 1
    assert (lookups("workflow", "hit") - hits, lookups("workflow", "miss") - misses) == (1, 1)
    # The run that was pinned to version 1 finds it without a call.
    assert (await live.workflows.get(TENANT, "intake", 1)).version == 1
    assert live.stored_workflows.reads == 1

    await live.stored_workflows.put(workflow("intake", "b"))  # through another router
    await live.announced()
    assert (await live.workflows.get(TENANT, "intake")).version == 2
    assert (await live.workflows.get(TENANT, "intake")).version == 2
    assert live.stored_workflows.reads == 2


async def test_a_version_stored_through_the_cache_is_the_latest_at_once():
    quiet = registry(announcing=False)  # only the cache's own write tells it
    await quiet.start()
    await quiet.workflows.put(workflow("intake", "a"))
    assert (await quiet.workflows.get(TENANT, "intake")).version == 1
    await quiet.workflows.put(workflow("intake", "b"))
    assert (await quiet.workflows.get(TENANT, "intake")).version == 2
    await quiet.workflows.delete(TENANT, "intake")
    with pytest.raises(errors.NotFound):
        await quiet.workflows.get(TENANT, "intake")
    await quiet.follower.close()


@pytest.mark.parametrize("kind", ["workflow", "agent"])
async def test_what_was_deleted_elsewhere_is_not_served_once_announced(live, kind):
    if kind == "workflow":
        stored, cached = live.stored_workflows, live.workflows
        await stored.put(workflow("intake", "a"))
    else:
        stored, cached = live.stored_agents, live.agents
        await stored.put(agent("intake", "10.0.0.1:7000"))
    await cached.get(TENANT, "intake")
    await stored.delete(TENANT, "intake")
    await live.announced()
    with pytest.raises(errors.NotFound):
        await cached.get(TENANT, "intake")


async def test_the_latest_version_is_read_from_the_state_service_while_the_watch_is_down(idle):
    await idle.stored_workflows.put(workflow("intake", "a"))
    bypassed = lookups("workflow", "bypass")
    await idle.workflows.get(TENANT, "intake")
    await idle.workflows.get(TENANT, "intake")
    assert idle.stored_workflows.reads == 2
    assert lookups("workflow", "bypass") - bypassed == 2

    await idle.start()
    await idle.workflows.get(TENANT, "intake")
    await idle.workflows.get(TENANT, "intake")
    assert idle.stored_workflows.reads == 3

    idle.changes.cut()
    await until(lambda: not idle.cache.live)
    # Announced to nobody: a cache still trusted would serve version 1.
    await idle.stored_workflows.put(workflow("intake", "b"))
    assert (await idle.workflows.get(TENANT, "intake")).version == 2
    assert (await idle.workflows.get(TENANT, "intake")).version == 2
    assert idle.stored_workflows.reads == 5

    idle.changes.restore()
    await until(lambda: idle.cache.live)
    assert idle.changes.opened == 2
    await idle.workflows.get(TENANT, "intake")
    await idle.workflows.get(TENANT, "intake")
    assert idle.stored_workflows.reads == 6


class GatedWorkflows(InMemoryWorkflowRepository):
    """Reads that find what is stored at once, and answer once `gate` is set."""

    def __init__(self, changes: InMemoryRegistryChanges):
        super().__init__(changes)
        self.gate = asyncio.Event()

    async def get(self, tenant: str, name: str, version: int = 0) -> workflow_pb2.Workflow:
        found = await super().get(tenant, name, version)
        await self.gate.wait()
        return found


async def test_a_read_that_raced_a_change_is_not_kept(live):
    stored = GatedWorkflows(live.changes)
    workflows = CachingWorkflowRepository(stored, live.cache)
    await stored.put(workflow("intake", "a"))
    reading = asyncio.create_task(workflows.get(TENANT, "intake"))
    await until(lambda: stored.reads == 1)  # it found version 1 ...
    await stored.put(workflow("intake", "b"))  # ... then version 2 was stored
    await live.announced()
    stored.gate.set()
    assert (await reading).version == 1
    assert (await workflows.get(TENANT, "intake")).version == 2


# Agents -------------------------------------------------------------------------


async def test_a_tenants_registrations_are_served_until_one_changes(live):
    await live.stored_agents.put(agent("extractor", "10.0.0.1:7000"))
    await live.stored_agents.put(agent("checker", "10.0.0.2:7000"))
    await live.stored_agents.put(agent("extractor", "10.0.0.9:7000", tenant=OTHER))
    names = ["extractor", "checker"]
    hits = lookups("agents", "hit")

    found = await agent_registry.registered(live.agents, TENANT, names)
    assert await agent_registry.registered(live.agents, TENANT, names) == found
    assert (await live.agents.get(TENANT, "checker")).endpoint == "10.0.0.2:7000"
    assert [a.agent for a in (await live.agents.list(TENANT, PageRequest(size=10))).items] == [
        "checker",
        "extractor",
    ]
    assert live.stored_agents.reads == 1
    assert lookups("agents", "hit") - hits == 3

    # Registered again elsewhere with a new endpoint: the next run goes there.
    await live.stored_agents.put(agent("extractor", "10.0.0.5:7000"))
    await live.announced()
    found = await agent_registry.registered(live.agents, TENANT, names)
    assert found["extractor"].endpoint == "10.0.0.5:7000"
    assert live.stored_agents.reads == 2
    # Another tenant's registrations are its own.
    assert (await live.agents.get(OTHER, "extractor")).endpoint == "10.0.0.9:7000"


async def test_an_agent_registered_through_the_cache_is_served_at_once():
    quiet = registry(announcing=False)
    await quiet.start()
    await quiet.agents.put(agent("extractor", "10.0.0.1:7000"))
    assert (await quiet.agents.get(TENANT, "extractor")).endpoint == "10.0.0.1:7000"
    await quiet.agents.put(agent("extractor", "10.0.0.2:7000"))
    assert (await quiet.agents.get(TENANT, "extractor")).endpoint == "10.0.0.2:7000"
    await quiet.follower.close()


async def test_registrations_are_read_from_the_state_service_while_the_watch_is_down(idle):
    await idle.stored_agents.put(agent("extractor", "10.0.0.1:7000"))
    await idle.agents.get(TENANT, "extractor")
    await idle.agents.get(TENANT, "extractor")
    assert idle.stored_agents.reads == 2
    await idle.start()
    await idle.agents.get(TENANT, "extractor")
    idle.changes.cut()
    await until(lambda: not idle.cache.live)
    await idle.stored_agents.put(agent("extractor", "10.0.0.2:7000"))
    assert (await idle.agents.get(TENANT, "extractor")).endpoint == "10.0.0.2:7000"


async def test_a_tenant_with_more_agents_than_a_page_is_read_from_the_state_service(live):
    for index in range(1001):
        await live.stored_agents.put(agent(f"agent-{index:04d}", "10.0.0.1:7000"))
    await live.announced()
    await live.agents.get(TENANT, "agent-1000")
    await live.agents.get(TENANT, "agent-1000")
    # One listing found the tenant too large to keep; each read asks for its agent.
    assert live.stored_agents.reads == 3


# Settings -----------------------------------------------------------------------


def test_a_cache_of_size_0_leaves_every_read_to_the_state_service():
    changes = InMemoryRegistryChanges()
    workflows, agents = InMemoryWorkflowRepository(changes), InMemoryAgentRepository(changes)
    assert cached_registry(workflows, agents, changes, 0) == (workflows, agents, None)
    with pytest.raises(errors.InvalidArgument) as refused:
        RouterSettings(registry_cache_size=-1)
    assert [field for field, _ in refused.value.violations] == ["registry_cache_size"]
