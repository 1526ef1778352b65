"""The agent registry on SQLite."""

from __future__ import annotations

from airspace.state import paging
from airspace.state.pages import page_of_messages
from airspace.state.registry_changes import AGENT, change
from airspace.state.rules.registry import agent_not_found, registered, revision
from airspace.state.sqlite.access import Db
from airspace.state.sqlite.database import SqliteDatabase
from airspace.state.store.agents import AgentStore
from airspace.state.store.page import Page
from airspace.v1 import agent_registry_pb2


class SqliteAgentStore(AgentStore):
    def __init__(self, database: SqliteDatabase):
        self._database = database

    async def put_agent(self, agent: agent_registry_pb2.Agent) -> agent_registry_pb2.Agent:
        def put(db: Db) -> agent_registry_pb2.Agent:
            stored = registered(agent, self._database.now())
            db.execute(
                "INSERT OR REPLACE INTO agents (tenant, agent, data) VALUES (?, ?, ?)",
                (agent.tenant, agent.agent, stored.SerializeToString()),
            )
            return stored

        def announce(stored: agent_registry_pb2.Agent) -> None:
            self._database.registry_changes.publish(
                change(AGENT, agent.tenant, agent.agent, revision(stored))
            )

        return await self._database.write(put, announce)

    async def get_agent(self, tenant: str, name: str) -> agent_registry_pb2.Agent:
        def read(db: Db) -> agent_registry_pb2.Agent:
            row = db.execute(
                "SELECT data FROM agents WHERE tenant = ? AND agent = ?", (tenant, name)
            ).fetchone()
            if row is None:
                raise agent_not_found(name)
            return agent_registry_pb2.Agent.FromString(row[0])

        return await self._database.read(read)

    async def list_agents(
        self, tenant: str, *, page_size: int, page_token: str
    ) -> Page[agent_registry_pb2.Agent]:
        after = paging.decode(page_token, (str,))

        def list_(db: Db) -> Page[agent_registry_pb2.Agent]:
            rows = db.execute(
                "SELECT data, agent FROM agents WHERE tenant = ? AND agent > ?"
                " ORDER BY agent LIMIT ?",
                (tenant, after[0] if after else "", page_size + 1),
            ).fetchall()
            return page_of_messages(rows, page_size, agent_registry_pb2.Agent)

        return await self._database.read(list_)

    async def delete_agent(self, tenant: str, name: str) -> None:
        def delete(db: Db) -> None:
            cursor = db.execute("DELETE FROM agents WHERE tenant = ? AND agent = ?", (tenant, name))
            if cursor.rowcount == 0:
                raise agent_not_found(name)

        await self._database.write(
            delete, lambda _: self._database.registry_changes.publish(change(AGENT, tenant, name))
        )
