"""Workflow versions on PostgreSQL."""

from __future__ import annotations

from airspace.state import paging
from airspace.state.pages import page_of_messages
from airspace.state.postgres.database import PostgresDatabase
from airspace.state.postgres.notifications import announce
from airspace.state.postgres.statements import Conn, execute, fetch_all, fetch_one
from airspace.state.registry_changes import WORKFLOW, change
from airspace.state.rules.registry import etag_of, new_version, workflow_not_found
from airspace.state.store.page import Page
from airspace.state.store.workflows import WorkflowStore
from airspace.v1 import workflow_pb2


class PostgresWorkflowStore(WorkflowStore):
    def __init__(self, database: PostgresDatabase):
        self._database = database

    async def put_workflow(
        self, workflow: workflow_pb2.Workflow
    ) -> tuple[workflow_pb2.Workflow, bool]:
        etag = etag_of(workflow)

        async def put(conn: Conn) -> tuple[workflow_pb2.Workflow, bool]:
            # Two puts of one new version collide on the key; the rerun sees the winner's.
            latest = await fetch_one(
                conn,
                "SELECT version, etag, deleted, data FROM workflows WHERE tenant = %s AND"
                " workflow = %s ORDER BY version DESC LIMIT 1 FOR UPDATE",
                (workflow.tenant, workflow.workflow),
            )
            if latest is not None and latest[1] == etag and not latest[2]:
                return workflow_pb2.Workflow.FromString(latest[3]), False
            version = (latest[0] if latest else 0) + 1
            stored = new_version(workflow, version, etag, self._database.now())
            await execute(
                conn,
                "INSERT INTO workflows (tenant, workflow, version, etag, deleted, data)"
                " VALUES (%s, %s, %s, %s, false, %s)",
                (workflow.tenant, workflow.workflow, version, etag, stored.SerializeToString()),
            )
            await announce(conn, change(WORKFLOW, workflow.tenant, workflow.workflow, version))
            return stored, True

        return await self._database.write(put)

    async def get_workflow(self, tenant: str, name: str, version: int) -> workflow_pb2.Workflow:
        async def read(conn: Conn) -> workflow_pb2.Workflow:
            if version:
                row = await fetch_one(
                    conn,
                    "SELECT data FROM workflows WHERE tenant = %s AND workflow = %s"
                    " AND version = %s",
                    (tenant, name, version),
                )
            else:
                row = await fetch_one(
                    conn,
                    "SELECT data FROM workflows WHERE tenant = %s AND workflow = %s"
                    " AND NOT deleted ORDER BY version DESC LIMIT 1",
                    (tenant, name),
                )
            if row is None:
                raise workflow_not_found(name, version)
            return workflow_pb2.Workflow.FromString(row[0])

        return await self._database.read(read)

    async def list_workflows(
        self, tenant: str, *, page_size: int, page_token: str
    ) -> Page[workflow_pb2.Workflow]:
        after = paging.decode(page_token, (str,))

        async def list_(conn: Conn) -> Page[workflow_pb2.Workflow]:
            rows = await fetch_all(
                conn,
                "SELECT DISTINCT ON (workflow) data, workflow FROM workflows"
                " WHERE tenant = %s AND NOT deleted AND workflow > %s"
                " ORDER BY workflow, version DESC LIMIT %s",
                (tenant, after[0] if after else "", page_size + 1),
            )
            return page_of_messages(rows, page_size, workflow_pb2.Workflow)

        return await self._database.read(list_)

    async def delete_workflow(self, tenant: str, name: str) -> None:
        async def delete(conn: Conn) -> None:
            hidden = await execute(
                conn,
                "UPDATE workflows SET deleted = true WHERE tenant = %s AND workflow = %s"
                " AND NOT deleted",
                (tenant, name),
            )
            if hidden == 0:
                raise workflow_not_found(name)
            await announce(conn, change(WORKFLOW, tenant, name))

        await self._database.write(delete)
