"""Router leases and run leases on PostgreSQL (rules in rules/leases.py). Several state
services may share the database: claims lock the rows they judge, and a takeover skips
runs another transaction holds (FOR UPDATE SKIP LOCKED), so routers claiming at once
share the runs instead of queuing behind each other."""

from __future__ import annotations

from airspace.state import records
from airspace.state.postgres import payloads
from airspace.state.postgres.database import PostgresDatabase
from airspace.state.postgres.schema_v1 import ACTIVE_STATES_SQL
from airspace.state.postgres.statements import Conn, execute, fetch_all, fetch_one
from airspace.state.rules.leases import (
    HeldLease,
    creation_grant,
    grant,
    lease_not_held,
    next_epoch,
    router_lease_lapsed,
    takeovers,
)
from airspace.state.rules.runs import run_not_found
from airspace.state.store.leases import (
    ClaimedRun,
    Lease,
    LeaseStore,
    Renewal,
    RouterLease,
    RunClaim,
)


class PostgresLeaseStore(LeaseStore):
    def __init__(self, database: PostgresDatabase):
        self._database = database

    async def register_router(self, router_id: str, ttl_seconds: float) -> RouterLease:
        async def register(conn: Conn) -> RouterLease:
            row = await fetch_one(
                conn,
                "SELECT epoch FROM router_leases WHERE router_id = %s FOR UPDATE",
                (router_id,),
            )
            epoch = next_epoch(row[0] if row else None)
            expire_us = self._database.now() + records.micros(ttl_seconds)
            # A first registration racing another of the same id fails with a unique
            # violation, and the database runs it again (it then finds the row).
            if row is None:
                await execute(
                    conn,
                    "INSERT INTO router_leases (router_id, epoch, expire_us) VALUES (%s, %s, %s)",
                    (router_id, epoch, expire_us),
                )
            else:
                await execute(
                    conn,
                    "UPDATE router_leases SET epoch = %s, expire_us = %s WHERE router_id = %s",
                    (epoch, expire_us, router_id),
                )
            await execute(conn, "UPDATE leases SET owner = '' WHERE owner = %s", (router_id,))
            return RouterLease(epoch, records.timestamp(expire_us))

        return await self._database.write(register)

    async def renew_router_lease(self, router_id: str, epoch: int, ttl_seconds: float) -> Renewal:
        async def renew(conn: Conn) -> Renewal:
            now = self._database.now()
            expire_us = now + records.micros(ttl_seconds)
            renewed = await execute(
                conn,
                "UPDATE router_leases SET expire_us = %s"
                " WHERE router_id = %s AND epoch = %s AND expire_us > %s",
                (expire_us, router_id, epoch, now),
            )
            if not renewed:
                raise router_lease_lapsed(router_id, epoch)
            lapsed = await fetch_one(
                conn,
                "SELECT 1 FROM router_leases WHERE expire_us > 0 AND expire_us <= %s LIMIT 1",
                (now,),
            )
            return Renewal(records.timestamp(expire_us), lapsed is not None)

        return await self._database.write(renew)

    async def deregister_router(self, router_id: str, epoch: int) -> None:
        async def deregister(conn: Conn) -> None:
            await execute(
                conn,
                "UPDATE router_leases SET expire_us = %s WHERE router_id = %s AND epoch = %s",
                (self._database.now(), router_id, epoch),
            )

        await self._database.write(deregister)

    async def claim_run(self, run_id: str, router_id: str, epoch: int) -> Lease:
        async def claim(conn: Conn) -> Lease:
            if await fetch_one(conn, "SELECT 1 FROM runs WHERE run_id = %s", (run_id,)) is None:
                raise run_not_found(run_id)
            now = self._database.now()
            await check_router_live(conn, router_id, epoch, now)
            held = await _held(conn, run_id, now)
            granted = grant(held, router_id)
            if granted is None:
                assert held is not None  # refused only while someone holds it
                return Lease(False, held.owner, held.token)
            await _store_grant(conn, run_id, router_id, granted.token, first=held is None)
            return Lease(True, router_id, granted.token, granted.previous_owner)

        return await self._database.write(claim)

    async def claim_runs(
        self, router_id: str, epoch: int, limit: int, min_age_seconds: float
    ) -> list[ClaimedRun]:
        async def claim(conn: Conn) -> list[ClaimedRun]:
            now = self._database.now()
            await check_router_live(conn, router_id, epoch, now)
            # SKIP LOCKED passes over runs whose row another transaction holds right now
            # (an append, another router's claim): someone is at work on them.
            rows = await fetch_all(
                conn,
                "SELECT r.data, r.last_sequence, r.payload_refs, r.tenant, l.owner, l.token"
                " FROM runs AS r"
                " LEFT JOIN leases AS l ON l.run_id = r.run_id"
                " LEFT JOIN router_leases AS o ON o.router_id = l.owner"
                f" WHERE r.state IN ({ACTIVE_STATES_SQL})"
                " AND ((l.run_id IS NULL AND r.create_us <= %s)"
                " OR (l.run_id IS NOT NULL AND COALESCE(o.expire_us, 0) <= %s))"
                " ORDER BY r.create_us, r.run_id LIMIT %s FOR UPDATE OF r SKIP LOCKED",
                (now - records.micros(min_age_seconds), now, limit),
            )
            found = await payloads.load(conn, [(row[3], row[2]) for row in rows])
            claimed = takeovers(rows, router_id, found)
            for claim, first in claimed:
                await _store_grant(conn, claim.run.run_id, router_id, claim.token, first=first)
            await settle_lapsed_routers(conn, now)
            return [claim for claim, _ in claimed]

        return await self._database.write(claim)

    async def release_lease(self, run_id: str, owner: str, token: int = 0) -> None:
        async def release(conn: Conn) -> None:
            await execute(
                conn,
                "UPDATE leases SET owner = '' WHERE run_id = %s AND owner = %s"
                " AND (%s = 0 OR token = %s)",
                (run_id, owner, token, token),
            )

        await self._database.write(release)


async def check_router_live(conn: Conn, router_id: str, epoch: int, now: int) -> None:
    """Refuses unless the router's lease of that epoch is live."""
    if not await _router_live(conn, router_id, epoch, now):
        raise router_lease_lapsed(router_id, epoch)


async def _router_live(conn: Conn, router_id: str, epoch: int, now: int) -> bool:
    """Whether the router's lease of that epoch is live; the row stays share-locked, so
    it is not registered anew before the caller commits."""
    live = await fetch_one(
        conn,
        "SELECT 1 FROM router_leases WHERE router_id = %s AND epoch = %s AND expire_us > %s"
        " FOR SHARE",
        (router_id, epoch, now),
    )
    return live is not None


async def _held(conn: Conn, run_id: str, now: int) -> HeldLease | None:
    """The run's lease; the row lock holds it still while it is judged and written."""
    row = await fetch_one(
        conn,
        "SELECT l.owner, l.token, COALESCE(o.expire_us > %s, false) FROM leases AS l"
        " LEFT JOIN router_leases AS o ON o.router_id = l.owner"
        " WHERE l.run_id = %s FOR UPDATE OF l",
        (now, run_id),
    )
    return HeldLease(*row) if row is not None else None


async def claim_created(
    conn: Conn, run_id: str, claim: RunClaim | None, created: bool, now: int
) -> int:
    """The fencing token a CreateRun's claim is granted (rules/leases.creation_grant), 0
    for none; in the creation's transaction."""
    if claim is None or not await _router_live(conn, claim.router_id, claim.epoch, now):
        return 0
    held = None if created else await _held(conn, run_id, now)
    granted = creation_grant(created, held, claim.router_id)
    if granted is None:
        return 0
    if created:
        await _store_grant(conn, run_id, claim.router_id, granted.token, first=True)
    return granted.token


async def free_lease(conn: Conn, run_id: str) -> None:
    """Frees the lease of a run that ended (rules/leases.freed_by); its token stays."""
    await execute(conn, "UPDATE leases SET owner = '' WHERE run_id = %s", (run_id,))


async def _store_grant(conn: Conn, run_id: str, owner: str, token: int, *, first: bool) -> None:
    """Writes the grant. A first lease of a run that another router inserts meanwhile
    fails with a unique violation, and the database judges the request again."""
    if first:
        await execute(
            conn,
            "INSERT INTO leases (run_id, owner, token) VALUES (%s, %s, %s)",
            (run_id, owner, token),
        )
        return
    await execute(
        conn, "UPDATE leases SET owner = %s, token = %s WHERE run_id = %s", (owner, token, run_id)
    )


async def settle_lapsed_routers(conn: Conn, now: int) -> None:
    """Lapsed router leases with no unfinished run and no audit outbox entry under them
    are settled: no longer a takeover to do (see renew_router_lease). Their rows stay
    (expiry 0), so a router registering under the same id again still starts a new
    epoch. Runs and entries skipped as locked keep their router's lease unsettled, and a
    takeover pending."""
    await execute(
        conn,
        "UPDATE router_leases AS o SET expire_us = 0 WHERE o.expire_us > 0"
        " AND o.expire_us <= %s AND NOT EXISTS ("
        " SELECT 1 FROM leases AS l JOIN runs AS r ON r.run_id = l.run_id"
        f" WHERE l.owner = o.router_id AND r.state IN ({ACTIVE_STATES_SQL}))"
        " AND NOT EXISTS (SELECT 1 FROM audit_outbox AS a WHERE a.router_id = o.router_id)",
        (now,),
    )


async def check_lease_held(conn: Conn, run_id: str, owner: str, token: int, now: int) -> None:
    """FAILED_PRECONDITION LEASE_NOT_HELD unless `owner` holds the run's lease live (its
    router lease unexpired) under the grant `token` names (any grant when it is 0); the
    lease row stays share-locked, so nobody takes it over before the caller commits."""
    held = await fetch_one(
        conn,
        "SELECT 1 FROM leases AS l JOIN router_leases AS o ON o.router_id = l.owner"
        " WHERE l.run_id = %s AND l.owner = %s AND o.expire_us > %s"
        " AND (%s = 0 OR l.token = %s) FOR SHARE OF l",
        (run_id, owner, now, token, token),
    )
    if held is None:
        raise lease_not_held(run_id, owner)
