"""Reads of the runs table that other aggregates' checks need too."""

from __future__ import annotations

from airspace.state.rules.runs import run_from_row, run_not_found
from airspace.state.sqlite import payloads
from airspace.state.sqlite.access import Db
from airspace.v1 import run_pb2


def load_run(db: Db, tenant: str, run_id: str) -> run_pb2.Run:
    row = db.execute(
        "SELECT data, last_sequence, payload_refs FROM runs WHERE run_id = ? AND tenant = ?",
        (run_id, tenant),
    ).fetchone()
    if row is None:
        raise run_not_found(run_id)
    return run_from_row(row, payloads.load(db, [(tenant, row[2])]))


def run_position(db: Db, tenant: str, run_id: str) -> tuple[int, int, int | None]:
    """The run's (state, last sequence, prune time); NOT_FOUND when the tenant has no such run."""
    row = db.execute(
        "SELECT state, last_sequence, prune_us FROM runs WHERE run_id = ? AND tenant = ?",
        (run_id, tenant),
    ).fetchone()
    if row is None:
        raise run_not_found(run_id)
    return row
