"""The audit outbox on SQLite (store/audit_outbox.py)."""

from __future__ import annotations

from collections.abc import Sequence

from airspace.policy.v1 import policy_pb2
from airspace.state.sqlite import leases
from airspace.state.sqlite.access import Db
from airspace.state.sqlite.database import SqliteDatabase
from airspace.state.store.audit_outbox import AuditOutboxStore


def keep(db: Db, router_id: str, records: Sequence[policy_pb2.AuditRecord], now: int) -> None:
    """Stores the records under the router, in the caller's transaction. A record_id
    stored before is the same record (a retry): it stays as it is."""
    db.conn.executemany(
        "INSERT OR IGNORE INTO audit_outbox (record_id, router_id, create_us, record)"
        " VALUES (?, ?, ?, ?)",
        [(r.record_id, router_id, now, r.SerializeToString()) for r in records],
    )


class SqliteAuditOutboxStore(AuditOutboxStore):
    def __init__(self, database: SqliteDatabase):
        self._database = database

    async def claim(self, router_id: str, epoch: int, limit: int) -> list[policy_pb2.AuditRecord]:
        def claim(db: Db) -> list[policy_pb2.AuditRecord]:
            now = self._database.now()
            leases.check_router_live(db, router_id, epoch, now)
            db.execute(
                "UPDATE audit_outbox SET router_id = ? WHERE router_id NOT IN"
                " (SELECT router_id FROM router_leases WHERE expire_us > ?)",
                (router_id, now),
            )
            leases.settle_lapsed_routers(db, now)
            rows = db.execute(
                "SELECT record FROM audit_outbox WHERE router_id = ?"
                " ORDER BY create_us, record_id LIMIT ?",
                (router_id, limit),
            ).fetchall()
            return [policy_pb2.AuditRecord.FromString(record) for (record,) in rows]

        return await self._database.write(claim)

    async def remove(self, record_ids: Sequence[str]) -> int:
        def remove(db: Db) -> int:
            marks = ", ".join("?" * len(record_ids))
            return db.execute(
                f"DELETE FROM audit_outbox WHERE record_id IN ({marks})", tuple(record_ids)
            ).rowcount

        return await self._database.write(remove) if record_ids else 0
