"""Run leases on PostgreSQL."""

from __future__ import annotations

from airspace.state import records
from airspace.state.postgres.database import PostgresDatabase
from airspace.state.postgres.schema_v1 import ACTIVE_STATES_SQL
from airspace.state.postgres.statements import Conn, execute, fetch_all, fetch_one
from airspace.state.rules.leases import Grant, HeldLease, grant, lease_not_held
from airspace.state.rules.runs import run_from_row, run_not_found
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
            # The row lock holds the lease still while it is judged and written.
            row = await fetch_one(
                conn,
                "SELECT owner, expire_us, token FROM leases WHERE run_id = %s FOR UPDATE",
                (run_id,),
            )
            held = HeldLease(*row) if row is not None else None
            granted = grant(held, owner, now, now + records.micros(ttl_seconds))
            if granted is None:
                assert held is not None  # refused only while someone holds it
                return Lease(False, held.owner, records.timestamp(held.expire_us), held.token)
            await _store_grant(conn, run_id, owner, granted, first=held is None)
            expire = records.timestamp(granted.expire_us)
            return Lease(True, owner, expire, granted.token, granted.previous_owner)

        return await self._database.write(acquire)

    async def release_lease(self, run_id: str, owner: str) -> None:
        async def release(conn: Conn) -> None:
            await execute(
                conn,
                "UPDATE leases SET owner = '', expire_us = 0 WHERE run_id = %s AND owner = %s",
                (run_id, owner),
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


async def _store_grant(conn: Conn, run_id: str, owner: str, granted: Grant, *, first: bool) -> None:
    """Writes the grant. A first lease of a run that another router inserts meanwhile
    fails with a unique violation, and the store judges the request again."""
    if first:
        await execute(
            conn,
            "INSERT INTO leases (run_id, owner, expire_us, token) VALUES (%s, %s, %s, %s)",
            (run_id, owner, granted.expire_us, granted.token),
        )
        return
    await execute(
        conn,
        "UPDATE leases SET owner = %s, expire_us = %s, token = %s WHERE run_id = %s",
        (owner, granted.expire_us, granted.token, run_id),
    )


async def check_lease_held(conn: Conn, run_id: str, owner: str, token: int, now: int) -> None:
    """FAILED_PRECONDITION LEASE_NOT_HELD unless `owner` holds the run's live lease under
    the grant `token` names (any grant when it is 0); the lease row stays share-locked,
    so nobody takes it over before the caller commits."""
    held = await fetch_one(
        conn,
        "SELECT 1 FROM leases WHERE run_id = %s AND owner = %s AND expire_us > %s"
        " AND (%s = 0 OR token = %s) FOR SHARE",
        (run_id, owner, now, token, token),
    )
    if held is None:
        raise lease_not_held(run_id, owner)
