"""Schema version 4: runs keep the digest of the request that created them, so a
request_id reused for another request is refused (rules/runs.py existing_run)."""

from __future__ import annotations

import psycopg


def add_request_digests(conn: psycopg.Connection) -> None:
    # Runs created before have none and are not compared.
    conn.execute("ALTER TABLE runs ADD COLUMN IF NOT EXISTS request_digest text")
