"""The audit outbox on PostgreSQL (store/audit_outbox.py). Routers claiming at once
lock the entries they move (FOR UPDATE SKIP LOCKED), so an entry passes to one of them."""

from __future__ import annotations

from collections.abc import Sequence

from airspace.policy.v1 import policy_pb2
from airspace.state.postgres import leases
from airspace.state.postgres.database import PostgresDatabase
from airspace.state.postgres.statements import Conn, execute, execute_many, fetch_all
from airspace.state.store.audit_outbox import AuditOutboxStore


async def keep(
    conn: Conn, router_id: str, records: Sequence[policy_pb2.AuditRecord], now: int
) -> None:
    """Stores the records under the router, in the caller's transaction. A record_id
    stored before is the same record (a retry): it stays as it is."""
    await execute_many(
        conn,
        "INSERT INTO audit_outbox (record_id, router_id, create_us, record)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (record_id) DO NOTHING",
        [(r.record_id, router_id, now, r.SerializeToString()) for r in records],
    )


class PostgresAuditOutboxStore(AuditOutboxStore):
    def __init__(self, database: PostgresDatabase):
        self._database = database

    async def claim(self, router_id: str, epoch: int, limit: int) -> list[policy_pb2.AuditRecord]:
        async def claim(conn: Conn) -> list[policy_pb2.AuditRecord]:
            now = self._database.now()
            await leases.check_router_live(conn, router_id, epoch, now)
            await execute(
                conn,
                "UPDATE audit_outbox SET router_id = %s WHERE record_id IN ("
                " SELECT record_id FROM audit_outbox WHERE router_id NOT IN"
                " (SELECT router_id FROM router_leases WHERE expire_us > %s)"
                " FOR UPDATE SKIP LOCKED)",
                (router_id, now),
            )
            await leases.settle_lapsed_routers(conn, now)
            rows = await fetch_all(
                conn,
                "SELECT record FROM audit_outbox WHERE router_id = %s"
                " ORDER BY create_us, record_id LIMIT %s",
                (router_id, limit),
            )
            return [policy_pb2.AuditRecord.FromString(record) for (record,) in rows]

        return await self._database.write(claim)

    async def remove(self, record_ids: Sequence[str]) -> int:
        async def remove(conn: Conn) -> int:
            return await execute(
                conn, "DELETE FROM audit_outbox WHERE record_id = ANY(%s)", (list(record_ids),)
            )

        return await self._database.write(remove) if record_ids else 0
