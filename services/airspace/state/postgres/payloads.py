"""The payloads table on PostgreSQL (rules/payloads.py): written with the rows that
reference them, in the same transaction.

A writer and a pruning of another run may meet on one payload. A writer share-locks the
payloads it finds (FOR KEY SHARE: writers of many runs using one document never wait on
each other) and inserts the others; an insert that loses a race to another writer reruns
the transaction (database.py), which then finds the row. A pruning locks the rows it may
delete (FOR UPDATE, which waits for those writers) before it looks for their other uses
in a statement of its own, so it sees the uses committed while it waited; a writer that
waited for a pruning finds the row gone and inserts it again. Both lock in digest order.
"""

from __future__ import annotations

from collections.abc import Iterable

from airspace.state.postgres.statements import Conn, execute, execute_many, fetch_all
from airspace.state.rules.payloads import Stored, wanted


async def save(conn: Conn, tenant: str, run_id: str, stored: Iterable[Stored]) -> None:
    """Stores the payloads of a run's records (once: one stored already is only
    locked, not sent again) and records that the run uses them."""
    payloads = {digest: data for record in stored for digest, data in record.payloads.items()}
    if not payloads:
        return
    digests = sorted(payloads)
    found = await fetch_all(
        conn,
        "SELECT digest FROM payloads WHERE tenant = %s AND digest = ANY(%s)"
        " ORDER BY digest FOR KEY SHARE",
        (tenant, digests),
    )
    present = {digest for (digest,) in found}
    await execute_many(
        conn,
        "INSERT INTO payloads (tenant, digest, size, data) VALUES (%s, %s, %s, %s)",
        [
            (tenant, digest, len(payloads[digest]), payloads[digest])
            for digest in digests
            if digest not in present
        ],
    )
    await execute_many(
        conn,
        "INSERT INTO payload_uses (tenant, digest, run_id) VALUES (%s, %s, %s)"
        " ON CONFLICT DO NOTHING",
        [(tenant, digest, run_id) for digest in digests],
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
