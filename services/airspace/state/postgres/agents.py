"""The agent registry on PostgreSQL."""

from __future__ import annotations

from airspace.state import paging
from airspace.state.pages import page_of_messages
from airspace.state.postgres.database import PostgresDatabase
from airspace.state.postgres.notifications import announce
from airspace.state.postgres.statements import Conn, execute, fetch_all, fetch_one
from airspace.state.registry_changes import AGENT, change
from airspace.state.rules.registry import agent_not_found, registered, revision
from airspace.state.store.agents import AgentStore
from airspace.state.store.page import Page
from airspace.v1 import agent_registry_pb2


class PostgresAgentStore(AgentStore):
    def __init__(self, database: PostgresDatabase):
        self._database = database

    async def put_agent(self, agent: agent_registry_pb2.Agent) -> agent_registry_pb2.Agent:
        async def put(conn: Conn) -> agent_registry_pb2.Agent:
            stored = registered(agent, self._database.now())
            await execute(
                conn,
                "INSERT INTO agents (tenant, agent, data) VALUES (%s, %s, %s)"
                " ON CONFLICT (tenant, agent) DO UPDATE SET data = EXCLUDED.data",
                (agent.tenant, agent.agent, stored.SerializeToString()),
            )
            await announce(conn, change(AGENT, agent.tenant, agent.agent, revision(stored)))
            return stored

        return await self._database.write(put)

    async def get_agent(self, tenant: str, name: str) -> agent_registry_pb2.Agent:
        async def read(conn: Conn) -> agent_registry_pb2.Agent:
            row = await fetch_one(
                conn, "SELECT data FROM agents WHERE tenant = %s AND agent = %s", (tenant, name)
            )
            if row is None:
                raise agent_not_found(name)
            return agent_registry_pb2.Agent.FromString(row[0])

        return await self._database.read(read)

    async def list_agents(
        self, tenant: str, *, page_size: int, page_token: str
    ) -> Page[agent_registry_pb2.Agent]:
        after = paging.decode(page_token, (str,))

        async def list_(conn: Conn) -> Page[agent_registry_pb2.Agent]:
            rows = await fetch_all(
                conn,
                "SELECT data, agent FROM agents WHERE tenant = %s AND agent > %s"
                " ORDER BY agent LIMIT %s",
                (tenant, after[0] if after else "", page_size + 1),
            )
            return page_of_messages(rows, page_size, agent_registry_pb2.Agent)

        return await self._database.read(list_)

    async def delete_agent(self, tenant: str, name: str) -> None:
        async def delete(conn: Conn) -> None:
            deleted = await execute(
                conn, "DELETE FROM agents WHERE tenant = %s AND agent = %s", (tenant, name)
            )
            if deleted == 0:
                raise agent_not_found(name)
            await announce(conn, change(AGENT, tenant, name))

        await self._database.write(delete)
