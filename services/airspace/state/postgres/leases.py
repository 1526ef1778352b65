"""Run leases on PostgreSQL."""

from __future__ import annotations

from airspace.state import records
from airspace.state.postgres.database import PostgresDatabase
from airspace.state.postgres.schema_v1 import ACTIVE_STATES_SQL
from airspace.state.postgres.statements import Conn, execute, fetch_all, fetch_one, fetch_row
from airspace.state.rules.runs import lease_not_held, run_from_row, run_not_found
from airspace.state.store.leases import Lease, LeaseStore
from airspace.v1 import run_pb2


class PostgresLeaseStore(LeaseStore):
    def __init__(self, database: PostgresDatabase):
        self._database = database

    async def acquire_lease(self, run_id: str, owner: str, ttl_seconds: float) -> Lease:
        async def acquire(conn: Conn) -> Lease:
            if await fetch_one(conn, "SELECT 1 FROM runs WHERE run_id = %s", (run_id,)) is None:
                raise run_not_found(run_id)
            now = self._database.now()
            expire = now + records.micros(ttl_seconds)
            # One statement grants, renews or refuses: the conflicting row is locked
            # while its owner and expiry are checked, so two routers never both win.
            granted = await fetch_one(
                conn,
                "INSERT INTO leases (run_id, owner, expire_us) VALUES (%s, %s, %s)"
                " ON CONFLICT (run_id) DO UPDATE SET owner = EXCLUDED.owner,"
                " expire_us = EXCLUDED.expire_us"
                " WHERE leases.owner = EXCLUDED.owner OR leases.expire_us <= %s"
                " RETURNING expire_us",
                (run_id, owner, expire, now),
            )
            if granted is not None:
                return Lease(acquired=True, owner=owner, expire_time=records.timestamp(expire))
            held = await fetch_row(
                conn, "SELECT owner, expire_us FROM leases WHERE run_id = %s", (run_id,)
            )
            return Lease(acquired=False, owner=held[0], expire_time=records.timestamp(held[1]))

        return await self._database.write(acquire)

    async def release_lease(self, run_id: str, owner: str) -> None:
        async def release(conn: Conn) -> None:
            await execute(
                conn, "DELETE FROM leases WHERE run_id = %s AND owner = %s", (run_id, owner)
            )

        await self._database.write(release)

    async def list_claimable_runs(
        self, limit: int, min_age_seconds: float = 0.0
    ) -> list[run_pb2.Run]:
        async def list_(conn: Conn) -> list[run_pb2.Run]:
            now = self._database.now()
            # SKIP LOCKED passes over runs whose row a write (an append, another
            # router's listing) holds right now: someone is at work on them.
            rows = await fetch_all(
                conn,
                "SELECT r.data, r.last_sequence FROM runs AS r"
                " LEFT JOIN leases AS l ON l.run_id = r.run_id"
                f" WHERE r.state IN ({ACTIVE_STATES_SQL})"
                " AND ((l.run_id IS NULL AND r.create_us <= %s) OR l.expire_us <= %s)"
                " ORDER BY r.create_us, r.run_id LIMIT %s FOR UPDATE OF r SKIP LOCKED",
                (now - records.micros(min_age_seconds), now, limit),
            )
            return [run_from_row(row) for row in rows]

        return await self._database.write(list_)


async def check_lease_held(conn: Conn, run_id: str, owner: str, now: int) -> None:
    """FAILED_PRECONDITION LEASE_NOT_HELD unless `owner` holds the run's live lease; the
    lease row stays share-locked, so nobody takes it over before the caller commits."""
    held = await fetch_one(
        conn,
        "SELECT 1 FROM leases WHERE run_id = %s AND owner = %s AND expire_us > %s FOR SHARE",
        (run_id, owner, now),
    )
    if held is None:
        raise lease_not_held(run_id, owner)
