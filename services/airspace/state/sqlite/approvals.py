"""Approvals on SQLite."""

from __future__ import annotations

from collections.abc import Collection

from airspace.state import paging
from airspace.state.pages import page_of_messages
from airspace.state.rules.approvals import (
    approval_not_found,
    approval_row,
    decided,
    due,
    listing_conditions,
    new_approval,
)
from airspace.state.sqlite.access import Db
from airspace.state.sqlite.database import SqliteDatabase
from airspace.state.sqlite.run_rows import run_position
from airspace.state.store.approvals import ApprovalStore, Decision
from airspace.state.store.page import Page
from airspace.v1 import approval_pb2


class SqliteApprovalStore(ApprovalStore):
    def __init__(self, database: SqliteDatabase):
        self._database = database

    async def create_approval(self, approval: approval_pb2.Approval) -> approval_pb2.Approval:
        def create(db: Db) -> approval_pb2.Approval:
            existing = _find_approval(db, approval.tenant, approval.approval_id)
            if existing is not None:
                return existing
            run_position(db, approval.tenant, approval.run_id)  # NOT_FOUND without its run
            now = self._database.now()
            stored = new_approval(approval, now)
            db.execute(
                "INSERT INTO approvals (tenant, approval_id, run_id, state, required_role,"
                " create_us, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                approval_row(stored, now),
            )
            return stored

        return await self._database.write(create)

    async def get_approval(self, tenant: str, approval_id: str) -> approval_pb2.Approval:
        def read(db: Db) -> approval_pb2.Approval:
            approval = _find_approval(db, tenant, approval_id)
            if approval is None:
                raise approval_not_found(approval_id)
            return approval

        return await self._database.read(read)

    async def list_approvals(
        self,
        tenant: str,
        *,
        state: int,
        roles: Collection[str],
        run_id: str,
        page_size: int,
        page_token: str,
    ) -> Page[approval_pb2.Approval]:
        after = paging.decode(page_token, (int, str))

        def list_(db: Db) -> Page[approval_pb2.Approval]:
            conditions = listing_conditions(tenant, state, roles, run_id, after)
            sql = (
                f"SELECT data, create_us, approval_id FROM approvals WHERE {conditions.sql('?')}"
                " ORDER BY create_us, approval_id LIMIT ?"
            )
            rows = db.execute(sql, [*conditions.args, page_size + 1]).fetchall()
            return page_of_messages(
                rows, page_size, approval_pb2.Approval, lambda row: [row[1], row[2]]
            )

        return await self._database.read(list_)

    async def list_due_approvals(
        self, due_before_us: int, limit: int
    ) -> list[approval_pb2.Approval]:
        def list_(db: Db) -> list[approval_pb2.Approval]:
            # Pending approvals are few (people decide them); the state index finds them.
            rows = db.execute(
                "SELECT data FROM approvals WHERE state = ?",
                (approval_pb2.APPROVAL_STATE_PENDING,),
            ).fetchall()
            pending = [approval_pb2.Approval.FromString(row[0]) for row in rows]
            return due(pending, due_before_us, limit)

        return await self._database.read(list_)

    async def decide_approval(
        self, tenant: str, approval_id: str, decision: Decision
    ) -> approval_pb2.Approval:
        def decide(db: Db) -> approval_pb2.Approval:
            approval = _find_approval(db, tenant, approval_id)
            if approval is None:
                raise approval_not_found(approval_id)
            approval = decided(approval, decision, self._database.now())
            db.execute(
                "UPDATE approvals SET state = ?, data = ? WHERE tenant = ? AND approval_id = ?",
                (approval.state, approval.SerializeToString(), tenant, approval_id),
            )
            return approval

        return await self._database.write(decide)


def _find_approval(db: Db, tenant: str, approval_id: str) -> approval_pb2.Approval | None:
    row = db.execute(
        "SELECT data FROM approvals WHERE tenant = ? AND approval_id = ?", (tenant, approval_id)
    ).fetchone()
    return None if row is None else approval_pb2.Approval.FromString(row[0])
