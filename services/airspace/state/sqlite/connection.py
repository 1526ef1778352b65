"""Connections to the state database, each with the settings every reader and writer needs."""

from __future__ import annotations

import pathlib
import sqlite3

import sqlite_utils

from airspace.mesh.private_files import private_database

BUSY_TIMEOUT_MS = 5000


def connect(path: str | pathlib.Path) -> sqlite_utils.Database:
    # isolation_level=None: the store issues BEGIN/COMMIT itself (group commit, savepoints).
    path = private_database(path)  # runs, memory and approvals are nobody else's to read
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    # Another process (a second state server, a backup) may hold the lock briefly.
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # WAL's default NORMAL only fsyncs at checkpoints, so a commit acknowledged to a
    # router could vanish on power loss, and the router would then re-run a step it
    # believes journaled. FULL fsyncs the WAL on every commit; group commit keeps
    # that to one fsync per batch of writes.
    conn.execute("PRAGMA synchronous=FULL")
    return sqlite_utils.Database(conn, execute_plugins=False)
