"""The workflow and agent repositories a router uses: cached unless the cache is off."""

from __future__ import annotations

from airspace.router.registry_cache.cache import RegistryCache
from airspace.router.registry_cache.follower import RegistryFollower
from airspace.router.registry_cache.repositories import (
    CachingAgentRepository,
    CachingWorkflowRepository,
)
from airspace.router.repositories.ports import (
    AgentRepository,
    RegistryChangeSource,
    WorkflowRepository,
)


def cached_registry(
    workflows: WorkflowRepository,
    agents: AgentRepository,
    changes: RegistryChangeSource,
    size: int,
) -> tuple[WorkflowRepository, AgentRepository, RegistryFollower | None]:
    """The repositories to use, and the follower of the registry watch to start with the
    router (None when `size` is 0: every read goes to the state service)."""
    if size == 0:
        return workflows, agents, None
    cache = RegistryCache(size)
    return (
        CachingWorkflowRepository(workflows, cache),
        CachingAgentRepository(agents, cache),
        RegistryFollower(changes, cache),
    )
