"""The hash chain: entry hash = sha256(previous hash + canonical JSON of the entry).

Each entry's hash covers every entry before it, so a signed head (signing.py) of
entry N vouches for entries 1..N, and a later head extends an earlier one exactly
when the chain links them (verification.py walks it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

GENESIS_HASH = "0" * 64


@dataclasses.dataclass(frozen=True)
class AuditRecord:
    """What a caller appends; the log assigns sequence, time and hashes."""

    kind: str
    tenant: str
    principal: str
    run_id: str = ""
    decision_id: str = ""
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class AuditEntry:
    sequence: int
    time_us: int  # microseconds since the epoch, UTC
    kind: str
    tenant: str
    principal: str
    run_id: str
    decision_id: str
    details: Mapping[str, Any]
    previous_hash: str
    hash: str


@dataclasses.dataclass(frozen=True)
class Head:
    size: int  # entries in the log; the head is entry `size`
    hash: str  # its hash (GENESIS_HASH for an empty log)


GENESIS = Head(0, GENESIS_HASH)


def canonical(sequence: int, time_us: int, record: AuditRecord) -> bytes:
    content = {
        "sequence": sequence,
        "time_us": time_us,
        "kind": record.kind,
        "tenant": record.tenant,
        "principal": record.principal,
        "run_id": record.run_id,
        "decision_id": record.decision_id,
        "details": record.details,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(previous_hash: str, content: bytes) -> str:
    return hashlib.sha256(previous_hash.encode() + content).hexdigest()


def seal(sequence: int, time_us: int, record: AuditRecord, previous_hash: str) -> AuditEntry:
    digest = chain_hash(previous_hash, canonical(sequence, time_us, record))
    return AuditEntry(
        sequence=sequence,
        time_us=time_us,
        kind=record.kind,
        tenant=record.tenant,
        principal=record.principal,
        run_id=record.run_id,
        decision_id=record.decision_id,
        details=record.details,
        previous_hash=previous_hash,
        hash=digest,
    )


def recomputed_hash(entry: AuditEntry) -> str:
    """The hash `entry` must carry, given its content and the previous hash it names."""
    record = AuditRecord(
        entry.kind, entry.tenant, entry.principal, entry.run_id, entry.decision_id, entry.details
    )
    return chain_hash(entry.previous_hash, canonical(entry.sequence, entry.time_us, record))
