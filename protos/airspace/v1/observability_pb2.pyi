import datetime

from airspace.trace.v1 import trace_pb2 as _trace_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetRunTraceRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class GetRunTraceResponse(_message.Message):
    __slots__ = ("trace_id", "spans")
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    SPANS_FIELD_NUMBER: _ClassVar[int]
    trace_id: str
    spans: _containers.RepeatedCompositeFieldContainer[_trace_pb2.Span]
    def __init__(self, trace_id: _Optional[str] = ..., spans: _Optional[_Iterable[_Union[_trace_pb2.Span, _Mapping]]] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("sequence", "time", "tenant", "principal", "kind", "run_id", "decision_id", "details", "hash", "previous_hash")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_HASH_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    time: _timestamp_pb2.Timestamp
    tenant: str
    principal: str
    kind: str
    run_id: str
    decision_id: str
    details: _struct_pb2.Struct
    hash: str
    previous_hash: str
    def __init__(self, sequence: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tenant: _Optional[str] = ..., principal: _Optional[str] = ..., kind: _Optional[str] = ..., run_id: _Optional[str] = ..., decision_id: _Optional[str] = ..., details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., hash: _Optional[str] = ..., previous_hash: _Optional[str] = ...) -> None: ...

class ListAuditEntriesRequest(_message.Message):
    __slots__ = ("run_id", "principal", "page_size", "page_token")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    principal: str
    page_size: int
    page_token: str
    def __init__(self, run_id: _Optional[str] = ..., principal: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAuditEntriesResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class VerifyAuditLogRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VerifyAuditLogResponse(_message.Message):
    __slots__ = ("ok", "entries_checked", "first_bad_sequence", "problem", "checks", "signed_entries", "acknowledged", "incident_sequences")
    OK_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_CHECKED_FIELD_NUMBER: _ClassVar[int]
    FIRST_BAD_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    SIGNED_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    INCIDENT_SEQUENCES_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    entries_checked: int
    first_bad_sequence: int
    problem: str
    checks: _containers.RepeatedCompositeFieldContainer[AuditCheck]
    signed_entries: int
    acknowledged: _containers.RepeatedCompositeFieldContainer[AuditFinding]
    incident_sequences: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, ok: _Optional[bool] = ..., entries_checked: _Optional[int] = ..., first_bad_sequence: _Optional[int] = ..., problem: _Optional[str] = ..., checks: _Optional[_Iterable[_Union[AuditCheck, _Mapping]]] = ..., signed_entries: _Optional[int] = ..., acknowledged: _Optional[_Iterable[_Union[AuditFinding, _Mapping]]] = ..., incident_sequences: _Optional[_Iterable[int]] = ...) -> None: ...

class AuditCheck(_message.Message):
    __slots__ = ("name", "description", "ok", "findings", "finding_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    FINDING_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    ok: bool
    findings: _containers.RepeatedCompositeFieldContainer[AuditFinding]
    finding_count: int
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., ok: _Optional[bool] = ..., findings: _Optional[_Iterable[_Union[AuditFinding, _Mapping]]] = ..., finding_count: _Optional[int] = ...) -> None: ...

class AuditFinding(_message.Message):
    __slots__ = ("check", "sequence", "problem")
    CHECK_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    check: str
    sequence: int
    problem: str
    def __init__(self, check: _Optional[str] = ..., sequence: _Optional[int] = ..., problem: _Optional[str] = ...) -> None: ...

class ResolveTokenRequest(_message.Message):
    __slots__ = ("token", "run_id")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    token: str
    run_id: str
    def __init__(self, token: _Optional[str] = ..., run_id: _Optional[str] = ...) -> None: ...

class ResolveTokenResponse(_message.Message):
    __slots__ = ("value", "entity", "decision_id")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    value: str
    entity: str
    decision_id: str
    def __init__(self, value: _Optional[str] = ..., entity: _Optional[str] = ..., decision_id: _Optional[str] = ...) -> None: ...
