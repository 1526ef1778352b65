"""Approvals on PostgreSQL."""

from __future__ import annotations

from collections.abc import Collection

from airspace.state import paging
from airspace.state.pages import page_of_messages
from airspace.state.postgres.database import PostgresDatabase
from airspace.state.postgres.run_rows import run_position
from airspace.state.postgres.statements import Conn, execute, fetch_all, fetch_one
from airspace.state.rules.approvals import (
    approval_not_found,
    approval_row,
    decided,
    due,
    listing_conditions,
    new_approval,
)
from airspace.state.store.approvals import ApprovalStore, Decision
from airspace.state.store.page import Page
from airspace.v1 import approval_pb2

_PENDING = approval_pb2.APPROVAL_STATE_PENDING


class PostgresApprovalStore(ApprovalStore):
    def __init__(self, database: PostgresDatabase):
        self._database = database

    async def create_approval(self, approval: approval_pb2.Approval) -> approval_pb2.Approval:
        async def create(conn: Conn) -> approval_pb2.Approval:
            # Two creations of one id collide on the key; the rerun returns the winner's.
            existing = await _find_approval(conn, approval.tenant, approval.approval_id)
            if existing is not None:
                return existing
            await run_position(conn, approval.tenant, approval.run_id)  # NOT_FOUND without it
            now = self._database.now()
            stored = new_approval(approval, now)
            await execute(
                conn,
                "INSERT INTO approvals (tenant, approval_id, run_id, state, required_role,"
                " create_us, data) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                approval_row(stored, now),
            )
            return stored

        return await self._database.write(create)

    async def get_approval(self, tenant: str, approval_id: str) -> approval_pb2.Approval:
        async def read(conn: Conn) -> approval_pb2.Approval:
            approval = await _find_approval(conn, tenant, approval_id)
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

        async def list_(conn: Conn) -> Page[approval_pb2.Approval]:
            conditions = listing_conditions(tenant, state, roles, run_id, after)
            sql = (
                f"SELECT data, create_us, approval_id FROM approvals WHERE {conditions.sql('%s')}"
                " ORDER BY create_us, approval_id LIMIT %s"
            )
            rows = await fetch_all(conn, sql, [*conditions.args, page_size + 1])
            return page_of_messages(
                rows, page_size, approval_pb2.Approval, lambda row: [row[1], row[2]]
            )

        return await self._database.read(list_)

    async def list_due_approvals(
        self, due_before_us: int, limit: int
    ) -> list[approval_pb2.Approval]:
        async def list_(conn: Conn) -> list[approval_pb2.Approval]:
            # Pending approvals are few (people decide them); a partial index holds them.
            # The state is inlined, not bound: a prepared statement's generic plan could
            # not use the partial index, and scanned every approval ever made.
            rows = await fetch_all(conn, f"SELECT data FROM approvals WHERE state = {_PENDING}")
            pending = [approval_pb2.Approval.FromString(row[0]) for row in rows]
            return due(pending, due_before_us, limit)

        return await self._database.read(list_)

    async def decide_approval(
        self, tenant: str, approval_id: str, decision: Decision
    ) -> approval_pb2.Approval:
        async def decide(conn: Conn) -> approval_pb2.Approval:
            # Locked: of two concurrent decisions, the second sees the first.
            approval = await _find_approval(conn, tenant, approval_id, lock=True)
            if approval is None:
                raise approval_not_found(approval_id)
            approval = decided(approval, decision, self._database.now())
            await execute(
                conn,
                "UPDATE approvals SET state = %s, data = %s WHERE tenant = %s AND approval_id = %s",
                (approval.state, approval.SerializeToString(), tenant, approval_id),
            )
            return approval

        return await self._database.write(decide)


async def _find_approval(
    conn: Conn, tenant: str, approval_id: str, *, lock: bool = False
) -> approval_pb2.Approval | None:
    row = await fetch_one(
        conn,
        "SELECT data FROM approvals WHERE tenant = %s AND approval_id = %s"
        + (" FOR UPDATE" if lock else ""),
        (tenant, approval_id),
    )
    return None if row is None else approval_pb2.Approval.FromString(row[0])
