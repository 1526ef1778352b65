"""The workflow and agent repositories with the registry cache in front: the domain
reads through them as through the state service's, and never sees a stale entry."""

from __future__ import annotations

from airspace.router import metrics
from airspace.router.registry_cache.cache import Registrations, RegistryCache, copied
from airspace.router.repositories.ports import (
    AgentRepository,
    Page,
    PageRequest,
    WorkflowRepository,
)
from airspace.v1 import agent_registry_pb2, workflow_pb2

# A tenant's registrations are kept when they fit in one page of the state service's.
AGENTS_PAGE = 1000


class CachingWorkflowRepository:
    def __init__(self, workflows: WorkflowRepository, cache: RegistryCache):
        self._workflows = workflows
        self._cache = cache

    async def put(self, workflow: workflow_pb2.Workflow) -> tuple[workflow_pb2.Workflow, bool]:
        try:
            return await self._workflows.put(workflow)
        finally:  # this router's next run sees the new version before the watch says so
            self._cache.forget_latest(workflow.tenant, workflow.workflow)

    async def get(self, tenant: str, name: str, version: int = 0) -> workflow_pb2.Workflow:
        if version:
            return await self._version(tenant, name, version)
        ticket = self._cache.ticket()
        if ticket is None:
            metrics.record_registry_lookup("workflow", "bypass")
            return await self._workflows.get(tenant, name)
        cached = self._cache.latest(tenant, name)
        if cached is not None:
            metrics.record_registry_lookup("workflow", "hit")
            return cached
        metrics.record_registry_lookup("workflow", "miss")
        workflow = await self._workflows.get(tenant, name)
        self._cache.keep_latest(ticket, tenant, workflow)
        return workflow

    async def _version(self, tenant: str, name: str, version: int) -> workflow_pb2.Workflow:
        """Versions never change: kept and served even while the watch is down."""
        cached = self._cache.version(tenant, name, version)
        if cached is not None:
            metrics.record_registry_lookup("workflow", "hit")
            return cached
        metrics.record_registry_lookup("workflow", "miss")
        workflow = await self._workflows.get(tenant, name, version)
        self._cache.keep_version(tenant, workflow)
        return workflow

    async def list(self, tenant: str, page: PageRequest) -> Page[workflow_pb2.Workflow]:
        return await self._workflows.list(tenant, page)

    async def delete(self, tenant: str, name: str) -> None:
        try:
            await self._workflows.delete(tenant, name)
        finally:
            self._cache.forget_latest(tenant, name)


class CachingAgentRepository:
    def __init__(self, agents: AgentRepository, cache: RegistryCache):
        self._agents = agents
        self._cache = cache

    async def put(self, agent: agent_registry_pb2.Agent) -> agent_registry_pb2.Agent:
        try:
            return await self._agents.put(agent)
        finally:
            self._cache.forget_agents(agent.tenant)

    async def get(self, tenant: str, name: str) -> agent_registry_pb2.Agent:
        registered = await self._registered(tenant)
        found = None if registered is None else registered.get(name)
        if found is not None:
            return copied(found)
        # Not known: the state service says so, in its own words.
        return await self._agents.get(tenant, name)

    async def list(self, tenant: str, page: PageRequest) -> Page[agent_registry_pb2.Agent]:
        """The first page from the cache when it holds every registration of the tenant."""
        if page.token or page.size <= 0:
            return await self._agents.list(tenant, page)
        registered = await self._registered(tenant)
        if registered is None or len(registered) > page.size:
            return await self._agents.list(tenant, page)
        return Page([copied(agent) for agent in registered.values()])

    async def delete(self, tenant: str, name: str) -> None:
        try:
            await self._agents.delete(tenant, name)
        finally:
            self._cache.forget_agents(tenant)

    async def _registered(self, tenant: str) -> dict[str, agent_registry_pb2.Agent] | None:
        """Every registration of the tenant, by name; None when they are not to be
        served from the cache: the watch is down, or they fill more than a page."""
        ticket = self._cache.ticket()
        if ticket is None:
            metrics.record_registry_lookup("agents", "bypass")
            return None
        cached = self._cache.agents(tenant)
        if cached is not None:
            metrics.record_registry_lookup("agents", "hit" if cached.complete else "bypass")
            return cached.agents if cached.complete else None
        metrics.record_registry_lookup("agents", "miss")
        listed = await self._agents.list(tenant, PageRequest(size=AGENTS_PAGE))
        complete = not listed.next_token
        found = Registrations(
            {agent.agent: agent for agent in listed.items} if complete else {}, complete
        )
        self._cache.keep_agents(ticket, tenant, found)
        return found.agents if complete else None
