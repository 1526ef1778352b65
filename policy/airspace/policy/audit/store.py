"""Where audit entries live: a small interface and its SQLite implementation.

Entries are only ever inserted; triggers refuse UPDATE and DELETE through SQLite,
and the hash chain and its signed checkpoints expose edits made by anyone who
removes them.
"""

from __future__ import annotations

import json
import pathlib
import sqlite3
import time
from collections.abc import Iterator, Sequence
from typing import Protocol

import sqlite_utils

from airspace.policy.audit.chain import (
    GENESIS_HASH,
    AuditEntry,
    AuditRecord,
    Head,
    VerifyResult,
    seal,
)
from airspace.policy.audit.chain import verify as verify_chain
from airspace.policy.audit.signing import Checkpoint, HeadSigner


class AuditStore(Protocol):
    """Blocking and not thread-safe: callers serialize access (see AuditLog)."""

    def append(self, records: Sequence[AuditRecord]) -> list[AuditEntry]:
        """Appends the records in order, in one transaction."""
        ...

    def list(
        self, *, tenant: str | None, run_id: str, principal: str, after: int, limit: int
    ) -> list[AuditEntry]:
        """Entries after sequence `after`, oldest first; tenant None means every tenant."""
        ...

    def verify(self) -> VerifyResult: ...

    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_entries (
    sequence INTEGER PRIMARY KEY,
    time_us INTEGER NOT NULL,
    kind TEXT NOT NULL,
    tenant TEXT NOT NULL,
    principal TEXT NOT NULL,
    run_id TEXT NOT NULL,
    decision_id TEXT NOT NULL,
    details TEXT NOT NULL,
    previous_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_tenant ON audit_entries (tenant, sequence);
CREATE INDEX IF NOT EXISTS audit_by_run ON audit_entries (run_id, sequence);
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    count INTEGER NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    count INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,
    signature TEXT NOT NULL,
    time_us INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""
_COLUMNS = (
    "sequence, time_us, kind, tenant, principal, run_id, decision_id, details, previous_hash, hash"
)


class SqliteAuditStore:
    def __init__(self, path: str | pathlib.Path, signer: HeadSigner):
        self._signer = signer
        pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection used by one thread at a time (AuditLog's executor).
        self._db = sqlite_utils.Database(sqlite3.connect(str(path), check_same_thread=False))
        self._db.enable_wal()
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def append(self, records: Sequence[AuditRecord]) -> list[AuditEntry]:
        conn = self._db.conn
        # IMMEDIATE: the head is read and moved under the write lock, even across processes.
        conn.execute("BEGIN IMMEDIATE")
        try:
            head = self._head() or Head(0, GENESIS_HASH)
            now_us = time.time_ns() // 1000
            entries, previous = [], head.hash
            for offset, record in enumerate(records, start=1):
                entries.append(seal(head.count + offset, now_us, record, previous))
                previous = entries[-1].hash
            conn.executemany(
                f"INSERT INTO audit_entries ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_row(entry) for entry in entries],
            )
            conn.execute(
                "INSERT INTO audit_head (id, count, hash) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET count = excluded.count, hash = excluded.hash",
                (head.count + len(entries), previous),
            )
            signed = self._signer.sign(head.count + len(entries), previous)
            conn.execute(
                "INSERT INTO audit_checkpoints (count, hash, signature, time_us) VALUES (?, ?, ?, ?)",
                (signed.count, signed.hash, signed.signature, now_us),
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return entries

    def list(
        self, *, tenant: str | None, run_id: str, principal: str, after: int, limit: int
    ) -> list[AuditEntry]:
        where = ["sequence > ?"]
        params: list[object] = [after]
        for column, value in (("tenant", tenant), ("run_id", run_id), ("principal", principal)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        sql = (
            f"SELECT {_COLUMNS} FROM audit_entries WHERE {' AND '.join(where)} "
            "ORDER BY sequence LIMIT ?"
        )
        return [_entry(row) for row in self._db.execute(sql, [*params, limit]).fetchall()]

    def verify(self) -> VerifyResult:
        conn = self._db.conn
        conn.execute("BEGIN")  # one snapshot for the entries and the head
        try:
            return verify_chain(self._entries(), self._head(), self._checkpoints(), self._signer)
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    def _head(self) -> Head | None:
        row = self._db.execute("SELECT count, hash FROM audit_head WHERE id = 1").fetchone()
        return Head(row[0], row[1]) if row else None

    def _checkpoints(self) -> Iterator[Checkpoint]:
        # A cursor of its own, read in step with the entries' cursor.
        cursor = self._db.execute(
            "SELECT count, hash, signature FROM audit_checkpoints ORDER BY count"
        )
        for count, digest, signature in cursor:
            yield Checkpoint(count, digest, signature)

    def _entries(self) -> Iterator[AuditEntry]:
        cursor = self._db.execute(f"SELECT {_COLUMNS} FROM audit_entries ORDER BY sequence")
        for row in cursor:
            yield _entry(row)


def _row(entry: AuditEntry) -> tuple:
    return (
        entry.sequence,
        entry.time_us,
        entry.kind,
        entry.tenant,
        entry.principal,
        entry.run_id,
        entry.decision_id,
        json.dumps(entry.details, sort_keys=True, ensure_ascii=False),
        entry.previous_hash,
        entry.hash,
    )


def _entry(row: Sequence) -> AuditEntry:
    (sequence, time_us, kind, tenant, principal, run_id, decision_id, details, prev, digest) = row
    return AuditEntry(
        sequence=sequence,
        time_us=time_us,
        kind=kind,
        tenant=tenant,
        principal=principal,
        run_id=run_id,
        decision_id=decision_id,
        details=json.loads(details),
        previous_hash=prev,
        hash=digest,
    )
