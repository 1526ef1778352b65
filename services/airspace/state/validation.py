"""Request checks that name the offending field, for INVALID_ARGUMENT with field violations."""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf import duration_pb2

from airspace.mesh import errors, time_values
from airspace.policy.v1 import policy_pb2
from airspace.state.store.audit_outbox import MAX_CLAIM

# Memory namespaces: the tenant's, one workflow's or one run's.
_NAMESPACE_PREFIXES = ("workflow/", "run/")


def require(*fields: tuple[str, object]) -> None:
    """Every (path, value) pair must have a value; all missing ones are reported at once."""
    missing = [path for path, value in fields if not value]
    if missing:
        raise errors.InvalidArgument(
            f"missing required field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}",
            violations=[(path, "is required") for path in missing],
        )


def page_size(value: int, *, default: int, maximum: int, field: str = "page_size") -> int:
    if value < 0:
        raise errors.InvalidArgument(f"{field} must not be negative", field=field)
    return min(value or default, maximum)


def positive_seconds(duration: duration_pb2.Duration, field: str) -> float:
    seconds = time_values.duration_seconds(duration, field)
    if seconds <= 0:
        raise errors.InvalidArgument(f"{field} must be a positive duration", field=field)
    return seconds


def memory_namespace(namespace: str, field: str = "namespace") -> None:
    valid = namespace == "tenant" or any(
        namespace.startswith(prefix) and len(namespace) > len(prefix)
        for prefix in _NAMESPACE_PREFIXES
    )
    if not valid:
        raise errors.InvalidArgument(
            f'{field} must be "tenant", "workflow/{{name}}" or "run/{{run_id}}"', field=field
        )


def known_enum(enum, number: int, field: str) -> None:
    """Proto3 enums are open: a number the contract does not define is refused."""
    if number not in enum.values():
        raise errors.InvalidArgument(
            f"{field} {number} is not a known {enum.DESCRIPTOR.name}", field=field
        )


# A record id names one outbox entry (policy.v1.AuditRecord.record_id).
MAX_RECORD_ID = 64


def audit_records(records: Sequence[policy_pb2.AuditRecord], field: str = "audit_records") -> None:
    """Audit records for the outbox: each with its own record_id, and no token: the values
    behind tokens go to the policy service's vault, never to state."""
    if len(records) > MAX_CLAIM:
        raise errors.InvalidArgument(f"{field} holds more than {MAX_CLAIM} records", field=field)
    seen: set[str] = set()
    for index, record in enumerate(records):
        where = f"{field}[{index}]"
        require((f"{where}.record_id", record.record_id), (f"{where}.kind", record.kind))
        record_ids([record.record_id], f"{where}.record_id")
        if record.record_id in seen:
            raise errors.InvalidArgument(
                f"{where}.record_id repeats another record's", field=f"{where}.record_id"
            )
        seen.add(record.record_id)
        if record.tokens:
            raise errors.InvalidArgument(
                f"{where}.tokens must be empty: token values never go to state",
                field=f"{where}.tokens",
            )


def record_ids(ids: Sequence[str], field: str = "record_ids") -> None:
    """Record ids of outbox entries: at most MAX_CLAIM of them, each short enough."""
    if len(ids) > MAX_CLAIM:
        raise errors.InvalidArgument(f"{field} holds more than {MAX_CLAIM} ids", field=field)
    for record_id in ids:
        if len(record_id) > MAX_RECORD_ID:
            raise errors.InvalidArgument(
                f"{field} must be at most {MAX_RECORD_ID} characters", field=field
            )
