"""Rules about the stored records themselves, shared by every store implementation."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from google.protobuf import field_mask_pb2, json_format, struct_pb2, timestamp_pb2

from airspace.v1 import run_pb2

TERMINAL_RUN_STATES = frozenset(
    {run_pb2.RUN_STATE_COMPLETED, run_pb2.RUN_STATE_FAILED, run_pb2.RUN_STATE_CANCELED}
)
# Unfinished runs a router may pick up when nobody holds their lease.
CLAIMABLE_RUN_STATES = (run_pb2.RUN_STATE_QUEUED, run_pb2.RUN_STATE_RUNNING)
# Run fields UpdateRun may change; everything else is fixed at creation.
RUN_UPDATE_FIELDS = frozenset(
    {"state", "output", "error", "usage", "trace_id", "end_time", "agent_versions", "labels"}
)


def micros(seconds: float) -> int:
    return int(round(seconds * 1_000_000))


def timestamp(at_micros: int) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromMicroseconds(at_micros)
    return stamp


def canonical_sha256(struct: struct_pb2.Struct) -> str:
    """SHA-256 of a Struct's canonical JSON (sorted keys, no whitespace)."""
    canonical = json.dumps(
        json_format.MessageToDict(struct), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def apply_run_update(
    stored: run_pb2.Run, patch: run_pb2.Run, fields: Sequence[str], now_micros: int
) -> run_pb2.Run:
    """The run after replacing `fields` with the patch's values (unset clears them).

    Entering a terminal state stamps end_time unless the caller sets it itself.
    """
    updated = run_pb2.Run()
    updated.CopyFrom(stored)
    field_mask_pb2.FieldMask(paths=list(fields)).MergeMessage(
        patch, updated, replace_message_field=True, replace_repeated_field=True
    )
    entering_end = updated.state in TERMINAL_RUN_STATES and stored.state not in TERMINAL_RUN_STATES
    if entering_end and "end_time" not in fields:
        updated.end_time.CopyFrom(timestamp(now_micros))
    updated.update_time.CopyFrom(timestamp(now_micros))
    return updated
