"""Where audit entries live: a small interface and its SQLite implementation.

Entries and signed heads are only ever inserted; triggers refuse UPDATE and DELETE
through SQLite, and verification exposes edits made by anyone who removes them.
Each append signs the head it makes, in the same transaction (so no fsync of its
own), and only on top of the head the store trusts: one verified at start and moved
by its own appends since. Rows someone else added are never signed over. A batch with a
request id is appended once: its id is kept in the same transaction, so a retry after a
lost reply is answered with the entries first appended (the ids of the last
RECENT_BATCHES batches are kept).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pathlib
import sqlite3
import time
from collections.abc import Iterator, Sequence
from typing import Protocol

import sqlite_utils

from airspace.mesh.private_files import private_database
from airspace.policy.audit.chain import GENESIS, AuditEntry, AuditRecord, Head, seal
from airspace.policy.audit.signing import HeadSigner, HeadVerifier, SignedHead
from airspace.policy.audit.verification import Report, verify

# Retries come within seconds (the router gives up after 5 s), and so does a relayed
# record sent again after its router crashed (a router lease's time, then a takeover):
# each relayed record keeps an id of its own (a batch of one), so this many cover half a
# minute at a few thousand records a second (hundreds of runs), and bound the table
# (about 25 MB).
RECENT_BATCHES = 100_000


class UntrustedHead(Exception):
    """The log does not end where the store last verified or wrote it."""


@dataclasses.dataclass(frozen=True)
class Batch:
    """Records appended together, in order; with a `request_id`, at most once."""

    records: Sequence[AuditRecord]
    request_id: str = ""


@dataclasses.dataclass(frozen=True)
class Appended:
    """A batch's entries: appended now, or `replayed` (appended by an earlier batch of the
    same request id, `conflicting` when that batch held other records)."""

    entries: list[AuditEntry]
    replayed: bool = False
    conflicting: bool = False


class AuditStore(Protocol):
    """Blocking and not thread-safe: callers serialize access (see AuditLog)."""

    verifier: HeadVerifier
    signed: SignedHead | None  # the head this store signed last, None before its first append

    def append(self, batches: Sequence[Batch]) -> list[Appended]:
        """Appends the batches in order, but those whose request id is known, and signs the
        new head, in one transaction; UntrustedHead when the log does not end at the
        trusted head."""
        ...

    def trust(self, head: Head) -> None:
        """Appends continue from `head`, which the caller verified."""
        ...

    def signed_head_of(self, head: Head) -> SignedHead | None:
        """The stored signed head of `head`, if any."""
        ...

    def list(
        self, *, tenant: str | None, run_id: str, principal: str, after: int, limit: int
    ) -> list[AuditEntry]:
        """Entries after sequence `after`, oldest first; tenant None means every tenant."""
        ...

    def verify(
        self,
        witnessed: Sequence[SignedHead],
        *,
        first: int = 1,
        witness_name: str = "the witness",
        witness_error: str = "",
    ) -> Report:
        """The stored log from entry `first` against its heads and `witnessed`."""
        ...

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
-- Keyed by size and hash: heads left past a cut that an incident acknowledged stay, and
-- the log, growing again, signs its own head at their size beside them.
CREATE TABLE IF NOT EXISTS audit_signed_heads (
    size INTEGER NOT NULL,
    hash TEXT NOT NULL,
    time_us INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (size, hash)
);
-- The request ids of recent batches, and where their entries are; pruned to the
-- newest few (by rowid, in insertion order).
CREATE TABLE IF NOT EXISTS audit_batches (
    request_id TEXT PRIMARY KEY,
    first_sequence INTEGER NOT NULL,
    size INTEGER NOT NULL,
    digest TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_signed_heads_no_update BEFORE UPDATE ON audit_signed_heads
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_signed_heads_no_delete BEFORE DELETE ON audit_signed_heads
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""
_COLUMNS = (
    "sequence, time_us, kind, tenant, principal, run_id, decision_id, details, previous_hash, hash"
)


_HEAD_COLUMNS = "size, hash, time_us, key_id, signature"


class SqliteAuditStore:
    def __init__(
        self, path: str | pathlib.Path, signer: HeadSigner, *, recent_batches: int = RECENT_BATCHES
    ):
        """Keeps the request ids of the last `recent_batches` batches."""
        self._signer = signer
        self._recent_batches = recent_batches
        self.verifier = signer.verifier
        self._trusted: Head | None = None
        self.signed: SignedHead | None = None
        # One connection used by one thread at a time (AuditLog's executor).
        self._db = sqlite_utils.Database(
            sqlite3.connect(str(private_database(path)), check_same_thread=False)
        )
        self._db.enable_wal()
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def trust(self, head: Head) -> None:
        self._trusted = head

    def append(self, batches: Sequence[Batch]) -> list[Appended]:
        conn = self._db.conn
        # IMMEDIATE: the head is read and moved under the write lock, even across processes.
        conn.execute("BEGIN IMMEDIATE")
        try:
            head = self._stored_end()
            if self._trusted is None or head != self._trusted:
                raise UntrustedHead(_untrusted(head, self._trusted))
            now_us = time.time_ns() // 1000
            appended, fresh = self._sealed(batches, head, now_us)
            entries = [entry for batch in appended if not batch.replayed for entry in batch.entries]
            signed = self._commit(entries, now_us, fresh) if entries else None
            if signed is None:  # only replays: nothing to write
                conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if signed is not None:
            self._trusted = Head(signed.size, signed.hash)
            self.signed = signed
        return appended

    def _sealed(
        self, batches: Sequence[Batch], head: Head, now_us: int
    ) -> tuple[list[Appended], dict[str, tuple[list[AuditEntry], str]]]:
        """Each batch's entries on top of `head`, or those of its earlier request; and the
        new batches' request ids, with their entries and digests."""
        appended: list[Appended] = []
        fresh: dict[str, tuple[list[AuditEntry], str]] = {}
        size, previous = head.size, head.hash
        for batch in batches:
            digest = _digest(batch.records) if batch.request_id else ""
            earlier = fresh.get(batch.request_id) or self._earlier(batch.request_id)
            if earlier is not None:
                entries, first_digest = earlier
                appended.append(Appended(entries, True, conflicting=first_digest != digest))
                continue
            sealed = []
            for record in batch.records:
                size += 1
                sealed.append(seal(size, now_us, record, previous))
                previous = sealed[-1].hash
            appended.append(Appended(sealed))
            if batch.request_id and sealed:
                fresh[batch.request_id] = (sealed, digest)
        return appended, fresh

    def _commit(
        self,
        entries: Sequence[AuditEntry],
        now_us: int,
        fresh: dict[str, tuple[list[AuditEntry], str]],
    ) -> SignedHead:
        """Writes the entries, their batches' request ids and the new signed head."""
        conn = self._db.conn
        conn.executemany(
            f"INSERT INTO audit_entries ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [_row(entry) for entry in entries],
        )
        self._keep_request_ids(fresh)
        signed = self._signer.sign(entries[-1].sequence, entries[-1].hash, now_us)
        conn.execute(
            f"INSERT INTO audit_signed_heads ({_HEAD_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
            (signed.size, signed.hash, signed.time_us, signed.key_id, signed.signature),
        )
        conn.execute("COMMIT")
        return signed

    def _earlier(self, request_id: str) -> tuple[list[AuditEntry], str] | None:
        """The entries and digest of the batch appended earlier under `request_id`."""
        if not request_id:
            return None
        row = self._db.execute(
            "SELECT first_sequence, size, digest FROM audit_batches WHERE request_id = ?",
            (request_id,),
        ).fetchone()
        if row is None:
            return None
        first, size, digest = row
        found = self._db.execute(
            f"SELECT {_COLUMNS} FROM audit_entries WHERE sequence BETWEEN ? AND ? "
            "ORDER BY sequence",
            (first, first + size - 1),
        ).fetchall()
        return [_entry(entry) for entry in found], digest

    def _keep_request_ids(self, fresh: dict[str, tuple[list[AuditEntry], str]]) -> None:
        if not fresh:
            return
        self._db.conn.executemany(
            "INSERT INTO audit_batches (request_id, first_sequence, size, digest) "
            "VALUES (?, ?, ?, ?)",
            [
                (request_id, entries[0].sequence, len(entries), digest)
                for request_id, (entries, digest) in fresh.items()
            ],
        )
        self._db.conn.execute(
            "DELETE FROM audit_batches WHERE rowid <= (SELECT MAX(rowid) FROM audit_batches) - ?",
            (self._recent_batches,),
        )

    def signed_head_of(self, head: Head) -> SignedHead | None:
        row = self._db.execute(
            f"SELECT {_HEAD_COLUMNS} FROM audit_signed_heads WHERE size = ? AND hash = ?",
            (head.size, head.hash),
        ).fetchone()
        return SignedHead(*row) if row else None

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

    def verify(
        self,
        witnessed: Sequence[SignedHead],
        *,
        first: int = 1,
        witness_name: str = "the witness",
        witness_error: str = "",
    ) -> Report:
        conn = self._db.conn
        conn.execute("BEGIN")  # one snapshot for the entries and the heads
        try:
            return verify(
                self._entries(first),
                self._heads(first),
                witnessed,
                self.verifier,
                first=first,
                witness_name=witness_name,
                witness_error=witness_error,
            )
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    def _stored_end(self) -> Head:
        row = self._db.execute(
            "SELECT sequence, hash FROM audit_entries ORDER BY sequence DESC LIMIT 1"
        ).fetchone()
        return Head(row[0], row[1]) if row else GENESIS

    def _heads(self, first: int) -> Iterator[SignedHead]:
        # A cursor of its own, read in step with the entries' cursor.
        cursor = self._db.execute(
            f"SELECT {_HEAD_COLUMNS} FROM audit_signed_heads WHERE size >= ? ORDER BY size",
            (first,),
        )
        for row in cursor:
            yield SignedHead(*row)

    def _entries(self, first: int) -> Iterator[AuditEntry]:
        cursor = self._db.execute(
            f"SELECT {_COLUMNS} FROM audit_entries WHERE sequence >= ? ORDER BY sequence",
            (first,),
        )
        for row in cursor:
            yield _entry(row)


_RECORD_FIELDS = tuple(field.name for field in dataclasses.fields(AuditRecord))


def _untrusted(found: Head, trusted: Head | None) -> str:
    expected = (
        f"entry {trusted.size} ({trusted.hash[:12]}) as verified or written last"
        if trusted
        else "a head verified at start"
    )
    return (
        f"the audit log ends at entry {found.size} ({found.hash[:12]}), not at {expected}; "
        "nothing is signed over it until a start of the policy service verifies it"
    )


def _digest(records: Sequence[AuditRecord]) -> str:
    """What a batch holds, to tell a retry from another batch reusing its request id."""
    # The fields as dataclasses.asdict gives them (the same JSON), without its deep copy.
    content = [{name: getattr(record, name) for name in _RECORD_FIELDS} for record in records]
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


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
