"""Run leases on SQLite."""

from __future__ import annotations

from airspace.state import records
from airspace.state.rules.leases import HeldLease, grant, lease_not_held
from airspace.state.rules.runs import run_from_row, run_not_found
from airspace.state.sqlite.access import Db
from airspace.state.sqlite.database import SqliteDatabase
from airspace.state.sqlite.schema_v1 import ACTIVE_STATES_SQL
from airspace.state.store.leases import Lease, LeaseStore
from airspace.v1 import run_pb2


class SqliteLeaseStore(LeaseStore):
    def __init__(self, database: SqliteDatabase):
        self._database = database

    async def acquire_lease(self, run_id: str, owner: str, ttl_seconds: float) -> Lease:
        def acquire(db: Db) -> Lease:
            if not db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
                raise run_not_found(run_id)
            now = self._database.now()
            row = db.execute(
                "SELECT owner, expire_us, token FROM leases WHERE run_id = ?", (run_id,)
            ).fetchone()
            held = HeldLease(*row) if row is not None else None
            granted = grant(held, owner, now, now + records.micros(ttl_seconds))
            if granted is None:
                assert held is not None  # refused only while someone holds it
                expire = records.timestamp(held.expire_us)
                return Lease(False, held.owner, expire, held.token)
            db.execute(
                "INSERT OR REPLACE INTO leases (run_id, owner, expire_us, token)"
                " VALUES (?, ?, ?, ?)",
                (run_id, owner, granted.expire_us, granted.token),
            )
            expire = records.timestamp(granted.expire_us)
            return Lease(True, owner, expire, granted.token, granted.previous_owner)

        return await self._database.write(acquire)

    async def release_lease(self, run_id: str, owner: str) -> None:
        await self._database.write(
            lambda db: db.execute(
                "UPDATE leases SET owner = '', expire_us = 0 WHERE run_id = ? AND owner = ?",
                (run_id, owner),
            )
        )

    async def list_claimable_runs(
        self, limit: int, min_age_seconds: float = 0.0
    ) -> list[run_pb2.Run]:
        def list_(db: Db) -> list[run_pb2.Run]:
            now = self._database.now()
            rows = db.execute(
                "SELECT r.data, r.last_sequence FROM runs AS r INDEXED BY runs_active"
                " LEFT JOIN leases AS l ON l.run_id = r.run_id"
                f" WHERE r.state IN ({ACTIVE_STATES_SQL})"
                " AND ((l.run_id IS NULL AND r.create_us <= ?) OR l.expire_us <= ?)"
                " ORDER BY r.create_us, r.run_id LIMIT ?",
                (now - records.micros(min_age_seconds), now, limit),
            ).fetchall()
            return [run_from_row(row) for row in rows]

        return await self._database.read(list_)


def check_lease_held(db: Db, run_id: str, owner: str, token: int, now: int) -> None:
    """FAILED_PRECONDITION LEASE_NOT_HELD unless `owner` holds the run's live lease under
    the grant `token` names (any grant when it is 0)."""
    held = db.execute(
        "SELECT 1 FROM leases WHERE run_id = ? AND owner = ? AND expire_us > ?"
        " AND (? = 0 OR token = ?)",
        (run_id, owner, now, token, token),
    ).fetchone()
    if held is None:
        raise lease_not_held(run_id, owner)
