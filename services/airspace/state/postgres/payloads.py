"""The payloads table on PostgreSQL (rules/payloads.py): written with the rows that
reference them, in the same transaction.

A writer and a pruning of another run may meet on one payload: the writer's upsert
locks the payload's row (updating it when it exists, inserting it anew when a pruning
deleted it meanwhile), and a pruning locks the rows it may delete before it looks for
their other uses, in a statement of its own, so it sees the uses committed while it
waited. Both lock payloads in digest order: they never wait on each other in a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable

from airspace.state.postgres.statements import Conn, execute, execute_many, fetch_all
from airspace.state.rules.payloads import Stored, wanted


async def save(conn: Conn, tenant: str, run_id: str, stored: Iterable[Stored]) -> None:
    """Stores the payloads of a run's records (once: a digest stored already is
    kept) and records that the run uses them."""
    payloads = {digest: data for record in stored for digest, data in record.payloads.items()}
    if not payloads:
        return
    await execute_many(
        conn,
        "INSERT INTO payloads (tenant, digest, size, data) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (tenant, digest) DO UPDATE SET size = EXCLUDED.size",
        [(tenant, digest, len(payloads[digest]), payloads[digest]) for digest in sorted(payloads)],
    )
    await execute_many(
        conn,
        "INSERT INTO payload_uses (tenant, digest, run_id) VALUES (%s, %s, %s)"
        " ON CONFLICT DO NOTHING",
        [(tenant, digest, run_id) for digest in sorted(payloads)],
    )


async def load(conn: Conn, rows: Iterable[tuple[str, str | None]]) -> dict[str, bytes]:
    """The payloads that rows of (tenant, payload_refs) reference, by digest."""
    keys = wanted(rows)
    if not keys:
        return {}
    found = await fetch_all(
        conn,
        "SELECT p.digest, p.data FROM payloads AS p"
        " JOIN unnest(%s::text[], %s::text[]) AS k (tenant, digest)"
        " ON p.tenant = k.tenant AND p.digest = k.digest",
        ([tenant for tenant, _ in keys], [digest for _, digest in keys]),
    )
    return dict(found)


async def release(conn: Conn, tenant: str, run_id: str) -> None:
    """Forgets the run's uses and deletes the payloads no other run uses."""
    used = [
        digest
        for (digest,) in await fetch_all(
            conn, "DELETE FROM payload_uses WHERE run_id = %s RETURNING digest", (run_id,)
        )
    ]
    if not used:
        return
    await execute(
        conn,
        "SELECT 1 FROM payloads WHERE tenant = %s AND digest = ANY(%s) ORDER BY digest FOR UPDATE",
        (tenant, used),
    )
    await execute(
        conn,
        "DELETE FROM payloads AS p WHERE p.tenant = %s AND p.digest = ANY(%s) AND NOT EXISTS"
        " (SELECT 1 FROM payload_uses AS u WHERE u.tenant = p.tenant AND u.digest = p.digest)",
        (tenant, used),
    )
