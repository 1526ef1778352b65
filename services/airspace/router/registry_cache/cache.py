"""What the router has read of workflows and agent registrations, and when it may be
trusted.

Workflow versions are immutable: a version read is kept whatever happens. Which version
is a workflow's latest, and a tenant's agent registrations, change: they are kept and
served only while the registry watch is live, from the moment its stream said so; each
change it announces drops what the change concerns, and the watch going down drops them
all. A read that began before a change (or before the watch went live) is not kept, as
it may have seen the registry before the change: a ticket taken before the read tells.
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

from google.protobuf import message

from airspace.router.lru import Lru
from airspace.state.v1 import state_pb2
from airspace.v1 import agent_registry_pb2, workflow_pb2

M = TypeVar("M", bound=message.Message)


@dataclasses.dataclass(frozen=True)
class Registrations:
    """A tenant's agent registrations by name, in the state service's order; `complete`
    unless the tenant has more than a listing gives at once (then none are kept)."""

    agents: dict[str, agent_registry_pb2.Agent]
    complete: bool = True


def copied(original: M) -> M:
    """A copy the caller may change without changing the cache."""
    copy = type(original)()
    copy.CopyFrom(original)
    return copy


class RegistryCache:
    def __init__(self, size: int):
        """`size` bounds each of: workflow versions, latest versions, tenants' agents."""
        self._versions: Lru[tuple[str, str, int], workflow_pb2.Workflow] = Lru(size)
        self._latest: Lru[tuple[str, str], int] = Lru(size)
        self._agents: Lru[str, Registrations] = Lru(size)
        self._live = False
        # Raised by every change, so that a read begun before it is not kept.
        self._generation = 0

    # What the registry watch says -------------------------------------------------

    @property
    def live(self) -> bool:
        return self._live

    def went_live(self) -> None:
        """Every change from now on will be announced: what is read from now on may be
        kept (what was read before may be stale)."""
        self._forget_changeable()
        self._live = True

    def went_down(self) -> None:
        """Changes may go unannounced: nothing that changes is served or kept."""
        self._live = False
        self._forget_changeable()

    def changed(self, change: state_pb2.RegistryChange) -> None:
        if change.kind == state_pb2.REGISTRY_KIND_WORKFLOW:
            self.forget_latest(change.tenant, change.name)
        elif change.kind == state_pb2.REGISTRY_KIND_AGENT:
            self.forget_agents(change.tenant)
        else:  # a kind this router does not know: it cannot tell what changed
            self._forget_changeable()

    def forget_latest(self, tenant: str, workflow: str) -> None:
        self._generation += 1
        self._latest.pop((tenant, workflow))

    def forget_agents(self, tenant: str) -> None:
        self._generation += 1
        self._agents.pop(tenant)

    # Reads and what they found ------------------------------------------------------

    def ticket(self) -> int | None:
        """Taken before a read of what changes; None while nothing may be kept or served."""
        return self._generation if self._live else None

    def version(self, tenant: str, workflow: str, version: int) -> workflow_pb2.Workflow | None:
        found = self._versions.get((tenant, workflow, version))
        return None if found is None else copied(found)

    def keep_version(self, tenant: str, workflow: workflow_pb2.Workflow) -> None:
        self._versions.put((tenant, workflow.workflow, workflow.version), copied(workflow))

    def latest(self, tenant: str, workflow: str) -> workflow_pb2.Workflow | None:
        version = self._latest.get((tenant, workflow)) if self._live else None
        return None if version is None else self.version(tenant, workflow, version)

    def keep_latest(self, ticket: int, tenant: str, workflow: workflow_pb2.Workflow) -> None:
        self.keep_version(tenant, workflow)
        if self._current(ticket):
            self._latest.put((tenant, workflow.workflow), workflow.version)

    def agents(self, tenant: str) -> Registrations | None:
        """The tenant's registrations (the cache's own: not to be changed)."""
        return self._agents.get(tenant) if self._live else None

    def keep_agents(self, ticket: int, tenant: str, registrations: Registrations) -> None:
        if self._current(ticket):
            agents = {name: copied(agent) for name, agent in registrations.agents.items()}
            self._agents.put(tenant, Registrations(agents, registrations.complete))

    def _current(self, ticket: int) -> bool:
        return self._live and ticket == self._generation

    def _forget_changeable(self) -> None:
        self._generation += 1
        self._latest.clear()
        self._agents.clear()
