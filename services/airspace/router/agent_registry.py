"""The agent registry: an agent joins by endpoint; its card is fetched, checked and stored."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence

import grpc

from airspace.mesh import errors, telemetry_credentials
from airspace.mesh.reasons import Reason
from airspace.router.agent_invoker import AgentInvoker
from airspace.router.commands import RegisterAgent
from airspace.router.guard import Guard
from airspace.router.repositories import AgentRepository, Page, PageRequest
from airspace.router.spec import NAME_PATTERN
from airspace.v1 import agent_registry_pb2

ENDPOINT_PATTERN = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$")
CARD_TIMEOUT_SECONDS = 5.0


class AgentRegistry:
    def __init__(
        self, agents: AgentRepository, guard: Guard, invoker: AgentInvoker, mesh_key: bytes
    ):
        self._agents = agents
        self._guard = guard
        self._invoker = invoker
        self._mesh_key = mesh_key

    def telemetry_credential(self, agent: agent_registry_pb2.Agent) -> str:
        """What the registered agent exports its spans with (telemetry_credentials.py)."""
        return telemetry_credentials.issue(
            self._mesh_key, telemetry_credentials.agent(agent.tenant, agent.agent)
        )

    async def register(self, request: RegisterAgent) -> agent_registry_pb2.Agent:
        if not ENDPOINT_PATTERN.match(request.endpoint):
            raise errors.InvalidArgument("endpoint must be HOST:PORT", field="endpoint")
        # An unspecified protocol means AIRSPACE; A2A agents are called through the adapter.
        protocol = request.protocol or agent_registry_pb2.AGENT_PROTOCOL_AIRSPACE
        caller = await self._guard.authorize("agent.register", "agent", request.agent)
        try:
            card = await self._invoker.card(request.endpoint, CARD_TIMEOUT_SECONDS, protocol)
        except grpc.aio.AioRpcError as exc:
            raise errors.FailedPrecondition(
                f"cannot fetch the agent card from {request.endpoint}: {exc.code().name} {exc.details()}",
                reason=Reason.AGENT_UNREACHABLE,
            ) from exc
        violations = []
        if not NAME_PATTERN.match(card.name):
            violations.append(
                ("card.name", f"agent name {card.name!r} must be lowercase letters, digits and '-'")
            )
        if not card.version:
            violations.append(("card.version", "the agent card has no version"))
        if request.agent and request.agent != card.name:
            violations.append(
                ("agent", f"expected agent {request.agent!r}, the endpoint serves {card.name!r}")
            )
        if violations:
            raise errors.InvalidArgument(
                "; ".join(f"{f}: {m}" for f, m in violations),
                violations=violations,
                reason=Reason.INVALID_AGENT_CARD,
            )
        agent = agent_registry_pb2.Agent(
            name=f"agents/{card.name}",
            agent=card.name,
            endpoint=request.endpoint,
            protocol=protocol,
            card=card,
            tenant=caller.tenant,
            registered_by=caller.principal,
        )
        agent.register_time.GetCurrentTime()
        return await self._agents.put(agent)

    async def get(self, name: str) -> agent_registry_pb2.Agent:
        if not name:
            raise errors.InvalidArgument("agent is required", field="agent")
        tenant = (await self._guard.authorize("agent.read", "agent", name)).tenant
        return await self._agents.get(tenant, name)

    async def list(self, page: PageRequest) -> Page[agent_registry_pb2.Agent]:
        tenant = (await self._guard.authorize("agent.read", "agent")).tenant
        return await self._agents.list(tenant, page)

    async def deregister(self, name: str) -> None:
        if not name:
            raise errors.InvalidArgument("agent is required", field="agent")
        tenant = (await self._guard.authorize("agent.register", "agent", name)).tenant
        await self._agents.delete(tenant, name)


async def registered(
    agents: AgentRepository, tenant: str, names: Sequence[str]
) -> dict[str, agent_registry_pb2.Agent]:
    """The registrations of `names` in the tenant (the missing ones left out), read in one
    call when a workflow names several agents."""
    found: dict[str, agent_registry_pb2.Agent] = {}
    unread = list(names)
    if len(names) > 1:
        listed = await agents.list(tenant, PageRequest(size=1000))
        found = {agent.agent: agent for agent in listed.items if agent.agent in names}
        # Past one page of agents, the ones not seen yet are read one by one.
        unread = [name for name in names if name not in found] if listed.next_token else []
    for name in unread:
        with contextlib.suppress(errors.NotFound):  # the caller decides what missing means
            found[name] = await agents.get(tenant, name)
    return found
