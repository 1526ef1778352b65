"""The hash chain: entry hash = sha256(previous hash + canonical JSON of the entry).

Verification walks the log in sequence order and compares its end with the head
checkpoint (count and last hash, written in the same transaction as the entries),
so an edited, deleted, reordered or truncated entry is found. It also compares the
chain with its signed checkpoints (see signing.py), so a chain rewritten from an
edited entry onwards, head row included, is found too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from airspace.policy.audit.signing import Checkpoint, HeadSigner

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
    count: int
    hash: str


@dataclasses.dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries_checked: int
    first_bad_sequence: int = 0
    problem: str = ""


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


def verify(
    entries: Iterable[AuditEntry],
    head: Head | None,
    checkpoints: Iterable[Checkpoint],
    signer: HeadSigner,
) -> VerifyResult:
    """Checks `entries` (in stored sequence order) against each other, the head and the
    signed `checkpoints` (ascending count). A problem found through a checkpoint is
    reported at the first entry after the last checkpoint that still matched."""
    marks = iter(checkpoints)
    mark = next(marks, None)
    matched = 0  # entries covered by checkpoints that matched so far
    previous, checked = GENESIS_HASH, 0
    for entry in entries:
        expected = checked + 1
        if entry.sequence != expected:
            return VerifyResult(
                False, checked, expected, f"entry {expected} is missing (next is {entry.sequence})"
            )
        checked = expected
        if entry.previous_hash != previous:
            return VerifyResult(
                False, checked, expected, "previous_hash does not match the entry before it"
            )
        record = AuditRecord(
            entry.kind,
            entry.tenant,
            entry.principal,
            entry.run_id,
            entry.decision_id,
            entry.details,
        )
        if chain_hash(previous, canonical(entry.sequence, entry.time_us, record)) != entry.hash:
            return VerifyResult(False, checked, expected, "content does not match its hash")
        previous = entry.hash
        while mark is not None and mark.count <= checked:
            if not signer.valid(mark):
                problem = f"the checkpoint of entry {mark.count} is not signed with the audit key"
                return VerifyResult(False, checked, matched + 1, problem)
            if mark.count == checked and mark.hash != entry.hash:
                problem = (
                    f"entries {matched + 1}..{checked} were rewritten: the chain no longer "
                    f"matches its signed checkpoint at entry {checked}"
                )
                return VerifyResult(False, checked, matched + 1, problem)
            matched = mark.count
            mark = next(marks, None)
    if head is None:
        if checked == 0:
            return VerifyResult(True, 0)
        return VerifyResult(False, checked, 1, "the head checkpoint is missing")
    recorded = head
    if recorded.count != checked:
        return VerifyResult(
            False,
            checked,
            min(recorded.count, checked) + 1,
            f"the log holds {checked} entries but its head checkpoint records {recorded.count}",
        )
    if recorded.hash != previous:
        return VerifyResult(
            False, checked, checked, "the last entry's hash does not match the head checkpoint"
        )
    if mark is not None:
        problem = f"a signed checkpoint covers {mark.count} entries but the log holds {checked}"
        return VerifyResult(False, checked, checked + 1, problem)
    if matched != checked:
        problem = f"entries {matched + 1}..{checked} are not covered by a signed checkpoint"
        return VerifyResult(False, checked, matched + 1, problem)
    return VerifyResult(True, checked)
