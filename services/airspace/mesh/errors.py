"""Domain errors and their one mapping to gRPC status codes with google.rpc details.

Domain code raises these; the server interceptor turns them into a status with
ErrorInfo (always), BadRequest (field violations) and RetryInfo (retry hints).
Every text an error carries is bounded here, once: messages quote what callers sent
(an id, a key), and a caller may send ten thousand characters where an id belongs.
"""

from __future__ import annotations

import datetime
import re
from typing import cast

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import DecodeError, Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

ERROR_DOMAIN = "airspace.dev"
# Bounds on the texts of an error: any unbroken run of characters longer than a long id
# is cut, then the whole text, keeping its end (where "... not found" is).
MAX_WORD_CHARS = 96
MAX_TEXT_CHARS = 600
_LONG_WORD = re.compile(rf"\S{{{MAX_WORD_CHARS + 1},}}")


def bounded(text: str) -> str:
    """`text` cut to at most about MAX_TEXT_CHARS, each cut marked with "…"."""
    text = _LONG_WORD.sub(lambda word: _cut(word.group(), MAX_WORD_CHARS), text)
    return _cut(text, MAX_TEXT_CHARS)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    tail = limit // 5
    return f"{text[: limit - tail - 1]}…{text[-tail:]}"


class MeshError(Exception):
    """An error meant for the caller: a status code, a safe message and details."""

    code = grpc.StatusCode.UNKNOWN
    default_reason = "UNKNOWN"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        violations: list[tuple[str, str]] | None = None,
        retry_after: float | None = None,
        metadata: dict[str, str] | None = None,
        quota_violations: list[tuple[str, str]] | None = None,
    ):
        message = bounded(message)
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.violations = [(bounded(f), bounded(d)) for f, d in violations or ()]
        self.retry_after = retry_after
        self.metadata = {bounded(k): bounded(v) for k, v in (metadata or {}).items()}
        # (subject, description) of each quota a call exceeded: google.rpc.QuotaFailure.
        self.quota_violations = [(bounded(s), bounded(d)) for s, d in quota_violations or ()]

    def to_status(self) -> status_pb2.Status:
        details: list[Message] = [
            error_details_pb2.ErrorInfo(
                reason=self.reason, domain=ERROR_DOMAIN, metadata=self.metadata
            )
        ]
        if self.violations:
            details.append(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
                        for f, d in self.violations
                    ]
                )
            )
        if self.quota_violations:
            details.append(
                error_details_pb2.QuotaFailure(
                    violations=[
                        error_details_pb2.QuotaFailure.Violation(subject=s, description=d)
                        for s, d in self.quota_violations
                    ]
                )
            )
        if self.retry_after is not None:
            delay = duration_pb2.Duration()
            delay.FromTimedelta(datetime.timedelta(seconds=self.retry_after))
            details.append(error_details_pb2.RetryInfo(retry_delay=delay))
        packed = []
        for detail in details:
            holder = any_pb2.Any()
            holder.Pack(detail)
            packed.append(holder)
        return status_pb2.Status(code=self.code.value[0], message=self.message, details=packed)


class InvalidArgument(MeshError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    default_reason = "INVALID_ARGUMENT"

    def __init__(self, message: str, *, field: str | None = None, **kwargs):
        if field is not None:
            kwargs.setdefault("violations", [(field, message)])
        super().__init__(message, **kwargs)


class NotFound(MeshError):
    code = grpc.StatusCode.NOT_FOUND
    default_reason = "NOT_FOUND"


class AlreadyExists(MeshError):
    code = grpc.StatusCode.ALREADY_EXISTS
    default_reason = "ALREADY_EXISTS"


class FailedPrecondition(MeshError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    default_reason = "FAILED_PRECONDITION"


class Aborted(MeshError):
    code = grpc.StatusCode.ABORTED
    default_reason = "ABORTED"


class PermissionDenied(MeshError):
    code = grpc.StatusCode.PERMISSION_DENIED
    default_reason = "PERMISSION_DENIED"


class Unauthenticated(MeshError):
    code = grpc.StatusCode.UNAUTHENTICATED
    default_reason = "UNAUTHENTICATED"


class OutOfRange(MeshError):
    code = grpc.StatusCode.OUT_OF_RANGE
    default_reason = "OUT_OF_RANGE"


class ResourceExhausted(MeshError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    default_reason = "RESOURCE_EXHAUSTED"


class Unavailable(MeshError):
    code = grpc.StatusCode.UNAVAILABLE
    default_reason = "UNAVAILABLE"


class DeadlineExceeded(MeshError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED
    default_reason = "DEADLINE_EXCEEDED"


class Internal(MeshError):
    code = grpc.StatusCode.INTERNAL
    default_reason = "INTERNAL"


class Cancelled(MeshError):
    code = grpc.StatusCode.CANCELLED
    default_reason = "CANCELLED"


class Unimplemented(MeshError):
    code = grpc.StatusCode.UNIMPLEMENTED
    default_reason = "UNIMPLEMENTED"


_BY_CODE = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        AlreadyExists,
        FailedPrecondition,
        Aborted,
        PermissionDenied,
        Unauthenticated,
        OutOfRange,
        ResourceExhausted,
        Unavailable,
        DeadlineExceeded,
        Internal,
        Cancelled,
        Unimplemented,
    )
}


def from_rpc_error(error: grpc.RpcError) -> MeshError:
    """Rebuilds a domain error from a downstream call's status, details included,
    so a service can pass a callee's error on to its own caller unchanged. Details
    that do not decode or do not match the status are left out, never raised."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    text = error.details() if hasattr(error, "details") else None
    return _rebuilt(code, text, status_details(error))


def from_status(status: status_pb2.Status) -> MeshError:
    """Rebuilds a domain error from a status carried in a message (one result of a
    batch), as from_rpc_error does from a call's."""
    code = _CODES.get(status.code, grpc.StatusCode.UNKNOWN)
    return _rebuilt(code, status.message, _unpacked(status))


def _rebuilt(code: grpc.StatusCode, text: object, details: list[Message]) -> MeshError:
    cls = _BY_CODE.get(code, Internal)
    reason, violations, retry_after, metadata = None, [], None, {}
    quota_violations: list[tuple[str, str]] = []
    for detail in details:
        if isinstance(detail, error_details_pb2.ErrorInfo):
            reason, metadata = detail.reason, dict(detail.metadata)
        elif isinstance(detail, error_details_pb2.BadRequest):
            violations = [(v.field, v.description) for v in detail.field_violations]
        elif isinstance(detail, error_details_pb2.RetryInfo):
            retry_after = _seconds(detail.retry_delay)
        elif isinstance(detail, error_details_pb2.QuotaFailure):
            quota_violations = [(v.subject, v.description) for v in detail.violations]
    err = MeshError.__new__(cls)
    MeshError.__init__(
        err,
        text if isinstance(text, str) and text else code.name,
        reason=reason or cls.default_reason,
        violations=violations,
        retry_after=retry_after,
        metadata=metadata,
        quota_violations=quota_violations,
    )
    return err


_CODES = {code.value[0]: code for code in grpc.StatusCode}
_DETAIL_TYPES = (
    error_details_pb2.ErrorInfo,
    error_details_pb2.BadRequest,
    error_details_pb2.RetryInfo,
    error_details_pb2.QuotaFailure,
)


def status_details(error: grpc.RpcError) -> list[Message]:
    """The google.rpc details a failed call's status carries (ErrorInfo, BadRequest,
    RetryInfo, QuotaFailure); none when the status has no details or they do not match it."""
    if not hasattr(error, "trailing_metadata"):
        return []
    try:
        # Failed calls, sync and asyncio alike, are calls with trailers, though neither
        # error class is typed as grpc.Call.
        status = rpc_status.from_call(cast(grpc.Call, error))
    except (ValueError, DecodeError):  # details of another status, or not a Status at all
        return []
    return _unpacked(status) if status else []


def _unpacked(status: status_pb2.Status) -> list[Message]:
    unpacked: list[Message] = []
    for packed in status.details:
        for kind in _DETAIL_TYPES:
            detail = kind()
            try:
                if packed.Unpack(detail):  # False when the detail is of another type
                    unpacked.append(detail)
            except DecodeError:
                continue  # a detail of the right type whose bytes are not one
    return unpacked


def _seconds(delay: duration_pb2.Duration) -> float | None:
    """A retry delay in seconds, or None when it is not a valid Duration."""
    try:
        return delay.ToTimedelta().total_seconds()
    except (ValueError, OverflowError):
        return None
