"""Completed step results by idempotency key, in an SQLite file, so a retried step attempt
is answered without running the handler again, even by an agent that restarted meanwhile.

WAL with synchronous=NORMAL: a result survives the agent's process dying the moment after
(the write is in the operating system's hands); only a crash of the machine itself may
lose the last results, and their steps then run again. Retention is bounded twice: by
age (a router retries within the run's timeout) and by count (oldest first)."""

from __future__ import annotations

import pathlib
import sqlite3
import threading
import time

from airspace.agent.v1 import agent_pb2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    idempotency_key TEXT PRIMARY KEY,
    completed REAL NOT NULL,
    event BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS results_by_age ON results (completed);
"""
# Pruning every write would cost a scan per step; this often keeps the table near its bound.
_PRUNE_EVERY = 64


class ResultStore:
    def __init__(self, path: pathlib.Path, capacity: int, retention_seconds: float):
        if capacity < 1:
            raise ValueError("the result store needs a capacity of at least 1")
        if retention_seconds <= 0:
            raise ValueError("the result store needs a positive retention")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._capacity = capacity
        self._retention = retention_seconds
        self._writes = 0
        # One connection, used from the event loop and worker threads: the lock orders them.
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")  # replicas of one agent may share the file
        self._db.executescript(_SCHEMA)
        self._prune()

    def get(self, key: str) -> agent_pb2.InvokeEvent | None:
        with self._lock:
            row = self._db.execute(
                "SELECT event FROM results WHERE idempotency_key = ? AND completed >= ?",
                (key, time.time() - self._retention),
            ).fetchone()
        return None if row is None else agent_pb2.InvokeEvent.FromString(row[0])

    def put(self, key: str, event: agent_pb2.InvokeEvent) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO results (idempotency_key, completed, event) VALUES (?, ?, ?)",
                (key, time.time(), event.SerializeToString()),
            )
            self._writes += 1
            if self._writes % _PRUNE_EVERY == 0 or self._capacity < _PRUNE_EVERY:
                self._prune_locked()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _prune(self) -> None:
        with self._lock:
            self._prune_locked()

    def _prune_locked(self) -> None:
        self._db.execute(
            "DELETE FROM results WHERE completed < ?", (time.time() - self._retention,)
        )
        self._db.execute(
            "DELETE FROM results WHERE idempotency_key IN ("
            " SELECT idempotency_key FROM results ORDER BY completed DESC LIMIT -1 OFFSET ?)",
            (self._capacity,),
        )
