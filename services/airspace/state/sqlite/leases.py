"""Router leases and run leases on SQLite (rules in rules/leases.py). The one writer
serializes claims, so a run is never granted to two routers at once."""

from __future__ import annotations

from airspace.state import records
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
from airspace.state.sqlite import payloads
from airspace.state.sqlite.access import Db
from airspace.state.sqlite.database import SqliteDatabase
from airspace.state.sqlite.schema_v1 import ACTIVE_STATES_SQL
from airspace.state.store.leases import (
    ClaimedRun,
    Lease,
    LeaseStore,
    Renewal,
    RouterLease,
    RunClaim,
)

# A run lease is live while its owner's router lease is (rules/leases.py).
_HELD = (
    "SELECT l.owner, l.token, COALESCE(o.expire_us > ?, 0) FROM leases AS l"
    " LEFT JOIN router_leases AS o ON o.router_id = l.owner WHERE l.run_id = ?"
)

# Unfinished runs nobody holds live, oldest first: (created before, now, limit). The
# partial index holds the active runs only, so the cost follows the load, not history.
CLAIMABLE = (
    "SELECT r.data, r.last_sequence, r.payload_refs, r.tenant, l.owner, l.token"
    " FROM runs AS r INDEXED BY runs_active"
    " LEFT JOIN leases AS l ON l.run_id = r.run_id"
    " LEFT JOIN router_leases AS o ON o.router_id = l.owner"
    f" WHERE r.state IN ({ACTIVE_STATES_SQL})"
    " AND ((l.run_id IS NULL AND r.create_us <= ?)"
    " OR (l.run_id IS NOT NULL AND COALESCE(o.expire_us, 0) <= ?))"
    " ORDER BY r.create_us, r.run_id LIMIT ?"
)


class SqliteLeaseStore(LeaseStore):
    def __init__(self, database: SqliteDatabase):
        self._database = database

    async def register_router(self, router_id: str, ttl_seconds: float) -> RouterLease:
        def register(db: Db) -> RouterLease:
            row = db.execute(
                "SELECT epoch FROM router_leases WHERE router_id = ?", (router_id,)
            ).fetchone()
            epoch = next_epoch(row[0] if row else None)
            expire_us = self._database.now() + records.micros(ttl_seconds)
            db.execute(
                "INSERT OR REPLACE INTO router_leases (router_id, epoch, expire_us)"
                " VALUES (?, ?, ?)",
                (router_id, epoch, expire_us),
            )
            db.execute("UPDATE leases SET owner = '' WHERE owner = ?", (router_id,))
            return RouterLease(epoch, records.timestamp(expire_us))

        return await self._database.write(register)

    async def renew_router_lease(self, router_id: str, epoch: int, ttl_seconds: float) -> Renewal:
        def renew(db: Db) -> Renewal:
            now = self._database.now()
            expire_us = now + records.micros(ttl_seconds)
            renewed = db.execute(
                "UPDATE router_leases SET expire_us = ?"
                " WHERE router_id = ? AND epoch = ? AND expire_us > ?",
                (expire_us, router_id, epoch, now),
            ).rowcount
            if not renewed:
                raise router_lease_lapsed(router_id, epoch)
            lapsed = db.execute(
                "SELECT 1 FROM router_leases WHERE expire_us > 0 AND expire_us <= ? LIMIT 1", (now,)
            ).fetchone()
            return Renewal(records.timestamp(expire_us), lapsed is not None)

        return await self._database.write(renew)

    async def deregister_router(self, router_id: str, epoch: int) -> None:
        await self._database.write(
            lambda db: db.execute(
                "UPDATE router_leases SET expire_us = ? WHERE router_id = ? AND epoch = ?",
                (self._database.now(), router_id, epoch),
            )
        )

    async def claim_run(self, run_id: str, router_id: str, epoch: int) -> Lease:
        def claim(db: Db) -> Lease:
            if not db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
                raise run_not_found(run_id)
            now = self._database.now()
            check_router_live(db, router_id, epoch, now)
            held = _held(db, run_id, now)
            granted = grant(held, router_id)
            if granted is None:
                assert held is not None  # refused only while someone holds it
                return Lease(False, held.owner, held.token)
            _store_grant(db, run_id, router_id, granted.token)
            return Lease(True, router_id, granted.token, granted.previous_owner)

        return await self._database.write(claim)

    async def claim_runs(
        self, router_id: str, epoch: int, limit: int, min_age_seconds: float
    ) -> list[ClaimedRun]:
        def claim(db: Db) -> list[ClaimedRun]:
            now = self._database.now()
            check_router_live(db, router_id, epoch, now)
            rows = db.execute(
                CLAIMABLE, (now - records.micros(min_age_seconds), now, limit)
            ).fetchall()
            found = payloads.load(db, [(row[3], row[2]) for row in rows])
            claimed = [claim for claim, _ in takeovers(rows, router_id, found)]
            for claim in claimed:
                _store_grant(db, claim.run.run_id, router_id, claim.token)
            settle_lapsed_routers(db, now)
            return claimed

        return await self._database.write(claim)

    async def release_lease(self, run_id: str, owner: str, token: int = 0) -> None:
        await self._database.write(
            lambda db: db.execute(
                "UPDATE leases SET owner = '' WHERE run_id = ? AND owner = ?"
                " AND (? = 0 OR token = ?)",
                (run_id, owner, token, token),
            )
        )


def check_router_live(db: Db, router_id: str, epoch: int, now: int) -> None:
    if not _router_live(db, router_id, epoch, now):
        raise router_lease_lapsed(router_id, epoch)


def _router_live(db: Db, router_id: str, epoch: int, now: int) -> bool:
    live = db.execute(
        "SELECT 1 FROM router_leases WHERE router_id = ? AND epoch = ? AND expire_us > ?",
        (router_id, epoch, now),
    ).fetchone()
    return live is not None


def _held(db: Db, run_id: str, now: int) -> HeldLease | None:
    row = db.execute(_HELD, (now, run_id)).fetchone()
    return HeldLease(row[0], row[1], bool(row[2])) if row is not None else None


def claim_created(db: Db, run_id: str, claim: RunClaim | None, created: bool, now: int) -> int:
    """The fencing token a CreateRun's claim is granted (rules/leases.creation_grant), 0
    for none; in the creation's transaction."""
    if claim is None or not _router_live(db, claim.router_id, claim.epoch, now):
        return 0
    held = None if created else _held(db, run_id, now)
    granted = creation_grant(created, held, claim.router_id)
    if granted is None:
        return 0
    if created:
        _store_grant(db, run_id, claim.router_id, granted.token)
    return granted.token


def free_lease(db: Db, run_id: str) -> None:
    """Frees the lease of a run that ended (rules/leases.freed_by); its token stays."""
    db.execute("UPDATE leases SET owner = '' WHERE run_id = ?", (run_id,))


def _store_grant(db: Db, run_id: str, router_id: str, token: int) -> None:
    db.execute(
        "INSERT OR REPLACE INTO leases (run_id, owner, token) VALUES (?, ?, ?)",
        (run_id, router_id, token),
    )


def settle_lapsed_routers(db: Db, now: int) -> None:
    """Lapsed router leases with no unfinished run and no audit outbox entry under them
    are settled: no longer a takeover to do (see renew_router_lease). Their rows stay
    (expiry 0), so a router registering under the same id again still starts a new epoch."""
    db.execute(
        "UPDATE router_leases SET expire_us = 0 WHERE expire_us > 0 AND expire_us <= ?"
        " AND NOT EXISTS (SELECT 1 FROM leases AS l JOIN runs AS r ON r.run_id = l.run_id"
        f" WHERE l.owner = router_leases.router_id AND r.state IN ({ACTIVE_STATES_SQL}))"
        " AND NOT EXISTS (SELECT 1 FROM audit_outbox AS a"
        " WHERE a.router_id = router_leases.router_id)",
        (now,),
    )


def check_lease_held(db: Db, run_id: str, owner: str, token: int, now: int) -> None:
    """FAILED_PRECONDITION LEASE_NOT_HELD unless `owner` holds the run's lease live (its
    router lease unexpired) under the grant `token` names (any grant when it is 0)."""
    held = db.execute(
        "SELECT 1 FROM leases AS l JOIN router_leases AS o ON o.router_id = l.owner"
        " WHERE l.run_id = ? AND l.owner = ? AND o.expire_us > ? AND (? = 0 OR l.token = ?)",
        (run_id, owner, now, token, token),
    ).fetchone()
    if held is None:
        raise lease_not_held(run_id, owner)
