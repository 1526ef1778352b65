"""Reads of the runs table that other aggregates' checks need too."""

from __future__ import annotations

from airspace.state.postgres import payloads
from airspace.state.postgres.statements import Conn, fetch_one
from airspace.state.rules.runs import run_from_row, run_not_found
from airspace.v1 import run_pb2

# Appends and run changes of one run take its row lock, so they apply one at a time.
_LOCKED = " FOR UPDATE"


async def load_run(conn: Conn, tenant: str, run_id: str, *, lock: bool = False) -> run_pb2.Run:
    row = await fetch_one(
        conn,
        "SELECT data, last_sequence, payload_refs FROM runs WHERE run_id = %s AND tenant = %s"
        + (_LOCKED if lock else ""),
        (run_id, tenant),
    )
    if row is None:
        raise run_not_found(run_id)
    return run_from_row(row, await payloads.load(conn, [(tenant, row[2])]))


async def run_position(
    conn: Conn, tenant: str, run_id: str, *, lock: bool = False
) -> tuple[int, int, int | None]:
    """The run's (state, last sequence, prune time); NOT_FOUND when the tenant has no such run."""
    row = await fetch_one(
        conn,
        "SELECT state, last_sequence, prune_us FROM runs WHERE run_id = %s AND tenant = %s"
        + (_LOCKED if lock else ""),
        (run_id, tenant),
    )
    if row is None:
        raise run_not_found(run_id)
    return row[0], row[1], row[2]
