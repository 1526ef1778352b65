"""Schema version 4: runs keep the digest of the request that created them, so a
request_id reused for another request is refused (rules/runs.py existing_run)."""

from __future__ import annotations

from airspace.state.sqlite.access import Db


def add_request_digests(db: Db) -> None:
    # Runs created before have none and are not compared.
    columns = {row[1] for row in db.execute("PRAGMA table_info(runs)").fetchall()}
    if "request_digest" not in columns:
        db.execute("ALTER TABLE runs ADD COLUMN request_digest TEXT")
