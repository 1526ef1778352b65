"""Timestamps and durations a request carries, checked against the ranges protobuf defines.

The messages hold any int64 seconds and int32 nanos, and the conversions protobuf ships
either refuse what is out of range with a bare ValueError or overflow; a request with
2**62 seconds is refused here with the field named instead.
"""

from __future__ import annotations

from google.protobuf import duration_pb2, timestamp_pb2

from airspace.mesh import errors

# 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in seconds since 1970 (google/protobuf/timestamp.proto).
EARLIEST_SECONDS, LATEST_SECONDS = -62_135_596_800, 253_402_300_799
# About 10,000 years either way (google/protobuf/duration.proto).
MAX_DURATION_SECONDS = 315_576_000_000
_NANOS = 1_000_000_000


def timestamp_micros(value: timestamp_pb2.Timestamp, field: str) -> int:
    """Microseconds since 1970 of the Timestamp in request field `field`."""
    if not EARLIEST_SECONDS <= value.seconds <= LATEST_SECONDS:
        raise errors.InvalidArgument(
            f"{field} must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z", field=field
        )
    if not 0 <= value.nanos < _NANOS:
        raise errors.InvalidArgument(f"{field}.nanos must be in [0, 999999999]", field=field)
    return value.seconds * 1_000_000 + value.nanos // 1000


def duration_seconds(value: duration_pb2.Duration, field: str) -> float:
    """Seconds of the Duration in request field `field`."""
    if abs(value.seconds) > MAX_DURATION_SECONDS:
        raise errors.InvalidArgument(
            f"{field} must be within {MAX_DURATION_SECONDS} seconds either way", field=field
        )
    if abs(value.nanos) >= _NANOS or value.seconds * value.nanos < 0:
        raise errors.InvalidArgument(
            f"{field}.nanos must be in (-1s, 1s) with the sign of its seconds", field=field
        )
    return value.seconds + value.nanos / _NANOS
