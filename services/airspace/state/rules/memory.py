"""Shared memory entries: liveness, versions for compare-and-set, retries."""

from __future__ import annotations

from typing import Any, TypeGuard

from google.protobuf import struct_pb2

from airspace.mesh import errors
from airspace.state import records
from airspace.state.v1 import state_pb2

# A stored entry is read as the row (version, expire_us, data, request_id), expired or not.
MemoryRow = Any


def is_live(row: MemoryRow | None, now: int) -> TypeGuard[MemoryRow]:
    """Expired entries behave as absent."""
    return row is not None and (row[1] is None or row[1] > now)


def retried_write(row: MemoryRow | None, request_id: str) -> state_pb2.MemoryEntry | None:
    """The entry a write with this request_id already made, when it was the last write."""
    if request_id and row is not None and row[3] == request_id:
        return state_pb2.MemoryEntry.FromString(row[2])
    return None


def next_entry(
    row: MemoryRow | None,
    namespace: str,
    key: str,
    value: struct_pb2.Value,
    *,
    expected_version: int | None,
    ttl_seconds: float | None,
    now: int,
) -> tuple[state_pb2.MemoryEntry, int | None]:
    """The entry a put writes over the stored row, and its expiry in microseconds."""
    check_version(namespace, key, row[0] if is_live(row, now) else 0, expected_version)
    # Versions keep counting past an expiry, so a stale compare-and-set
    # against a version from before the expiry can never match again.
    entry = state_pb2.MemoryEntry(namespace=namespace, key=key, version=(row[0] if row else 0) + 1)
    entry.value.CopyFrom(value)
    entry.update_time.CopyFrom(records.timestamp(now))
    expire = None
    if ttl_seconds is not None:
        expire = now + records.micros(ttl_seconds)
        entry.expire_time.CopyFrom(records.timestamp(expire))
    return entry, expire


def check_deletable(
    row: MemoryRow | None, namespace: str, key: str, expected_version: int | None, now: int
) -> None:
    if not is_live(row, now):
        raise memory_not_found(namespace, key)
    check_version(namespace, key, row[0], expected_version)


def check_version(namespace: str, key: str, current: int, expected: int | None) -> None:
    if expected is not None and expected != current:
        raise errors.Aborted(
            f"memory {namespace}/{key} is at version {current}, not {expected}",
            reason="VERSION_MISMATCH",
            metadata={"version": str(current)},
        )


def memory_not_found(namespace: str, key: str) -> errors.NotFound:
    return errors.NotFound(f"memory key {key!r} not found in namespace {namespace!r}")
