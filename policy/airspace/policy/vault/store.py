"""Where sealed token values live: a small interface and its SQLite implementation."""

from __future__ import annotations

import pathlib
import sqlite3
import time
from collections.abc import Sequence
from typing import Protocol

import sqlite_utils

from airspace.mesh.private_files import private_database


class TokenStore(Protocol):
    """Blocking and not thread-safe: callers serialize access (see TokenVault)."""

    def put(self, rows: Sequence[tuple[str, str, str, bytes]]) -> None:
        """Stores (token, tenant, entity, sealed value) rows in one transaction."""
        ...

    def get(self, tenant: str, token: str) -> tuple[str, bytes] | None:
        """(entity, sealed value) of a token of `tenant`, or None."""
        ...

    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    entity TEXT NOT NULL,
    sealed BLOB NOT NULL,
    create_us INTEGER NOT NULL
);
"""


class SqliteTokenStore:
    def __init__(self, path: str | pathlib.Path):
        self._db = sqlite_utils.Database(
            sqlite3.connect(str(private_database(path)), check_same_thread=False)
        )
        self._db.enable_wal()
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def put(self, rows: Sequence[tuple[str, str, str, bytes]]) -> None:
        now_us = time.time_ns() // 1000
        with self._db.conn:
            # Tokens are random: one already kept comes from a retry of the same batch.
            self._db.conn.executemany(
                "INSERT INTO tokens (token, tenant, entity, sealed, create_us) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (token) DO NOTHING",
                [(*row, now_us) for row in rows],
            )

    def get(self, tenant: str, token: str) -> tuple[str, bytes] | None:
        row = self._db.execute(
            "SELECT entity, sealed FROM tokens WHERE token = ? AND tenant = ?", (token, tenant)
        ).fetchone()
        return (row[0], row[1]) if row else None

    def close(self) -> None:
        self._db.close()
