"""Request checks that name the offending field, for INVALID_ARGUMENT with field violations."""

from __future__ import annotations

from google.protobuf import duration_pb2

from airspace.mesh import errors, time_values

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
