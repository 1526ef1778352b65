"""Workflow versions on SQLite."""

from __future__ import annotations

from airspace.state import paging
from airspace.state.pages import page_of_messages
from airspace.state.registry_changes import WORKFLOW, change
from airspace.state.rules.registry import etag_of, new_version, workflow_not_found
from airspace.state.sqlite.access import Db
from airspace.state.sqlite.database import SqliteDatabase
from airspace.state.store.page import Page
from airspace.state.store.workflows import WorkflowStore
from airspace.v1 import workflow_pb2


class SqliteWorkflowStore(WorkflowStore):
    def __init__(self, database: SqliteDatabase):
        self._database = database

    async def put_workflow(
        self, workflow: workflow_pb2.Workflow
    ) -> tuple[workflow_pb2.Workflow, bool]:
        etag = etag_of(workflow)

        def put(db: Db) -> tuple[workflow_pb2.Workflow, bool]:
            latest = db.execute(
                "SELECT version, etag, deleted, data FROM workflows WHERE tenant = ? AND"
                " workflow = ? ORDER BY version DESC LIMIT 1",
                (workflow.tenant, workflow.workflow),
            ).fetchone()
            if latest is not None and latest[1] == etag and not latest[2]:
                return workflow_pb2.Workflow.FromString(latest[3]), False
            version = (latest[0] if latest else 0) + 1
            stored = new_version(workflow, version, etag, self._database.now())
            db.execute(
                "INSERT INTO workflows (tenant, workflow, version, etag, deleted, data)"
                " VALUES (?, ?, ?, ?, 0, ?)",
                (workflow.tenant, workflow.workflow, version, etag, stored.SerializeToString()),
            )
            return stored, True

        def announce(result: tuple[workflow_pb2.Workflow, bool]) -> None:
            stored, created = result
            if created:
                self._database.registry_changes.publish(
                    change(WORKFLOW, workflow.tenant, workflow.workflow, stored.version)
                )

        return await self._database.write(put, announce)

    async def get_workflow(self, tenant: str, name: str, version: int) -> workflow_pb2.Workflow:
        def read(db: Db) -> workflow_pb2.Workflow:
            if version:
                row = db.execute(
                    "SELECT data FROM workflows WHERE tenant = ? AND workflow = ? AND version = ?",
                    (tenant, name, version),
                ).fetchone()
            else:
                row = db.execute(
                    "SELECT data FROM workflows WHERE tenant = ? AND workflow = ? AND deleted = 0"
                    " ORDER BY version DESC LIMIT 1",
                    (tenant, name),
                ).fetchone()
            if row is None:
                raise workflow_not_found(name, version)
            return workflow_pb2.Workflow.FromString(row[0])

        return await self._database.read(read)

    async def list_workflows(
        self, tenant: str, *, page_size: int, page_token: str
    ) -> Page[workflow_pb2.Workflow]:
        after = paging.decode(page_token, (str,))

        def list_(db: Db) -> Page[workflow_pb2.Workflow]:
            rows = db.execute(
                "SELECT data, workflow FROM workflows AS w WHERE tenant = ? AND deleted = 0"
                " AND workflow > ? AND version = (SELECT MAX(version) FROM workflows"
                " WHERE tenant = w.tenant AND workflow = w.workflow AND deleted = 0)"
                " ORDER BY workflow LIMIT ?",
                (tenant, after[0] if after else "", page_size + 1),
            ).fetchall()
            return page_of_messages(rows, page_size, workflow_pb2.Workflow)

        return await self._database.read(list_)

    async def delete_workflow(self, tenant: str, name: str) -> None:
        def delete(db: Db) -> None:
            cursor = db.execute(
                "UPDATE workflows SET deleted = 1 WHERE tenant = ? AND workflow = ? AND deleted = 0",
                (tenant, name),
            )
            if cursor.rowcount == 0:
                raise workflow_not_found(name)

        await self._database.write(
            delete,
            lambda _: self._database.registry_changes.publish(change(WORKFLOW, tenant, name)),
        )
