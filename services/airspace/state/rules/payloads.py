"""Large payloads kept out of the hot rows, the same for every store.

A run's input and output, the outputs in its events and its journal entries are the
bulk of what a run stores. Above a size (the state setting payload_inline_bytes), such
a field is taken out of its record and stored once per tenant in the payloads table,
keyed by the sha256 of its bytes; the row keeps a reference ({field path: digest} in
its payload_refs column, NULL when everything is inline). A StepCompleted event and
its journal entry carry the same output, and a run's output is both in its record and
in its RunOutput event: each is stored once. Reads put the payloads back, so callers
see the records they wrote.

Which payloads a run uses is recorded per run (payload_uses) when they are written;
pruning a run drops its uses and deletes the payloads no other run uses.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

from google.protobuf.message import Message

from airspace.mesh import errors

M = TypeVar("M", bound=Message)

# 16 KiB: below it, a record reads in one row and writes without hashing — short texts
# and small documents, most of what steps exchange. Above it, copying the payload into
# every row that carries it (an event and a journal entry, the run record rewritten on
# each change of state) costs more than the digest and the one extra lookup per read.
DEFAULT_INLINE_BYTES = 16 * 1024

# The fields of each record that may be stored apart, as paths of message fields.
RUN_FIELDS = ("input", "output")
EVENT_FIELDS = (
    "step_completed.output",
    "partial_output.part",
    "run_output.output",
    "transcript_message",
)
JOURNAL_FIELDS = ("output",)


@dataclasses.dataclass(frozen=True)
class Stored:
    """A record as its row keeps it: its bytes without the large payloads, the row's
    payload_refs (None when all is inline), and the payloads taken out, by digest."""

    data: bytes
    refs: str | None
    payloads: dict[str, bytes]


def split(record: Message, fields: Sequence[str], inline_bytes: int) -> Stored:
    """The record with the fields larger than inline_bytes taken out."""
    taken: dict[str, str] = {}
    payloads: dict[str, bytes] = {}
    hot = record
    for path in fields:
        payload = _present(record, path)
        if payload is None or payload.ByteSize() <= inline_bytes:
            continue
        # Deterministic: maps (a Struct's fields) always serialize alike, so equal
        # payloads have one digest.
        data = payload.SerializeToString(deterministic=True)
        digest = hashlib.sha256(data).hexdigest()
        payloads[digest] = data
        taken[path] = digest
        if hot is record:
            hot = type(record)()
            hot.CopyFrom(record)
        parent, name = _parent(hot, path)
        parent.ClearField(name)
    refs = json.dumps(taken, sort_keys=True) if taken else None
    return Stored(hot.SerializeToString(), refs, payloads)


def wanted(rows: Iterable[tuple[str, str | None]]) -> list[tuple[str, str]]:
    """The (tenant, digest) of the payloads that rows of (tenant, payload_refs)
    reference, each once, in order."""
    found = {
        (tenant, digest) for tenant, refs in rows if refs for digest in json.loads(refs).values()
    }
    return sorted(found)


def join(record_type: type[M], data: bytes, refs: str | None, payloads: Mapping[str, bytes]) -> M:
    """The record of a row, its payloads put back."""
    record = record_type.FromString(data)
    if not refs:
        return record
    for path, digest in json.loads(refs).items():
        if digest not in payloads:
            # A row is written with its payloads in one transaction: never expected.
            raise errors.Internal(f"payload {digest} of a stored {record_type.__name__} is missing")
        parent, name = _parent(record, path)
        field = getattr(parent, name)
        field.SetInParent()
        field.MergeFromString(payloads[digest])
    return record


def _present(record: Message, path: str) -> Message | None:
    """The message at the path, or None when a field on the way is not set."""
    current = record
    for name in path.split("."):
        if not current.HasField(name):
            return None
        current = getattr(current, name)
    return current


def _parent(record: Message, path: str) -> tuple[Message, str]:
    *parents, name = path.split(".")
    current = record
    for parent in parents:
        current = getattr(current, parent)
    return current, name
