"""Reads of the runs table that other aggregates' checks need too."""

from __future__ import annotations

from typing import Any

from airspace.mesh import errors
from airspace.state.sqlite.access import Db
from airspace.v1 import run_pb2


def run_from_row(row: Any) -> run_pb2.Run:
    """A run from (data, last_sequence): the sequence lives in its own column so an
    append never rewrites the run record."""
    run = run_pb2.Run.FromString(row[0])
    run.last_event_sequence = row[1]
    return run


def run_not_found(run_id: str) -> errors.NotFound:
    return errors.NotFound(f"run {run_id!r} not found")


def load_run(db: Db, tenant: str, run_id: str) -> run_pb2.Run:
    row = db.execute(
        "SELECT data, last_sequence FROM runs WHERE run_id = ? AND tenant = ?", (run_id, tenant)
    ).fetchone()
    if row is None:
        raise run_not_found(run_id)
    return run_from_row(row)


def run_position(db: Db, tenant: str, run_id: str) -> tuple[int, int, int | None]:
    """The run's (state, last sequence, prune time); NOT_FOUND when the tenant has no such run."""
    row = db.execute(
        "SELECT state, last_sequence, prune_us FROM runs WHERE run_id = ? AND tenant = ?",
        (run_id, tenant),
    ).fetchone()
    if row is None:
        raise run_not_found(run_id)
    return row
