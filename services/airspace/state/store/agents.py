"""The agent registry."""

from __future__ import annotations

from abc import ABC, abstractmethod

from airspace.state.store.page import Page
from airspace.v1 import agent_registry_pb2


class AgentStore(ABC):
    @abstractmethod
    async def put_agent(self, agent: agent_registry_pb2.Agent) -> agent_registry_pb2.Agent:
        """Registers the agent, replacing an earlier registration of its name."""

    @abstractmethod
    async def get_agent(self, tenant: str, name: str) -> agent_registry_pb2.Agent: ...

    @abstractmethod
    async def list_agents(
        self, tenant: str, *, page_size: int, page_token: str
    ) -> Page[agent_registry_pb2.Agent]:
        """By name."""

    @abstractmethod
    async def delete_agent(self, tenant: str, name: str) -> None: ...
