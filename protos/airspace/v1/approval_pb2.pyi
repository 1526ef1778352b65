import datetime

from airspace.v1 import run_pb2 as _run_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ApprovalKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPROVAL_KIND_UNSPECIFIED: _ClassVar[ApprovalKind]
    APPROVAL_KIND_CHECKPOINT: _ClassVar[ApprovalKind]
    APPROVAL_KIND_ACTION: _ClassVar[ApprovalKind]
    APPROVAL_KIND_CONFLICT: _ClassVar[ApprovalKind]
    APPROVAL_KIND_LOW_CONFIDENCE: _ClassVar[ApprovalKind]
    APPROVAL_KIND_POLICY: _ClassVar[ApprovalKind]

class ApprovalState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPROVAL_STATE_UNSPECIFIED: _ClassVar[ApprovalState]
    APPROVAL_STATE_PENDING: _ClassVar[ApprovalState]
    APPROVAL_STATE_DECIDED: _ClassVar[ApprovalState]
    APPROVAL_STATE_EXPIRED: _ClassVar[ApprovalState]
    APPROVAL_STATE_ESCALATED: _ClassVar[ApprovalState]
APPROVAL_KIND_UNSPECIFIED: ApprovalKind
APPROVAL_KIND_CHECKPOINT: ApprovalKind
APPROVAL_KIND_ACTION: ApprovalKind
APPROVAL_KIND_CONFLICT: ApprovalKind
APPROVAL_KIND_LOW_CONFIDENCE: ApprovalKind
APPROVAL_KIND_POLICY: ApprovalKind
APPROVAL_STATE_UNSPECIFIED: ApprovalState
APPROVAL_STATE_PENDING: ApprovalState
APPROVAL_STATE_DECIDED: ApprovalState
APPROVAL_STATE_EXPIRED: ApprovalState
APPROVAL_STATE_ESCALATED: ApprovalState

class Approval(_message.Message):
    __slots__ = ("name", "approval_id", "run_id", "step_key", "tenant", "kind", "state", "required_role", "summary", "evidence", "payload", "payload_hash", "requested_by", "create_time", "expire_time", "outcome", "decided_by", "comment", "decide_time", "edited_payload")
    NAME_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_KEY_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_ROLE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_HASH_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    DECIDE_TIME_FIELD_NUMBER: _ClassVar[int]
    EDITED_PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    name: str
    approval_id: str
    run_id: str
    step_key: str
    tenant: str
    kind: ApprovalKind
    state: ApprovalState
    required_role: str
    summary: str
    evidence: _struct_pb2.Struct
    payload: _struct_pb2.Struct
    payload_hash: str
    requested_by: str
    create_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    outcome: _run_pb2.ApprovalOutcome
    decided_by: str
    comment: str
    decide_time: _timestamp_pb2.Timestamp
    edited_payload: _struct_pb2.Struct
    def __init__(self, name: _Optional[str] = ..., approval_id: _Optional[str] = ..., run_id: _Optional[str] = ..., step_key: _Optional[str] = ..., tenant: _Optional[str] = ..., kind: _Optional[_Union[ApprovalKind, str]] = ..., state: _Optional[_Union[ApprovalState, str]] = ..., required_role: _Optional[str] = ..., summary: _Optional[str] = ..., evidence: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., payload: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., payload_hash: _Optional[str] = ..., requested_by: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., outcome: _Optional[_Union[_run_pb2.ApprovalOutcome, str]] = ..., decided_by: _Optional[str] = ..., comment: _Optional[str] = ..., decide_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., edited_payload: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ListApprovalsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "state", "run_id")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    state: ApprovalState
    run_id: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., state: _Optional[_Union[ApprovalState, str]] = ..., run_id: _Optional[str] = ...) -> None: ...

class ListApprovalsResponse(_message.Message):
    __slots__ = ("approvals", "next_page_token")
    APPROVALS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    approvals: _containers.RepeatedCompositeFieldContainer[Approval]
    next_page_token: str
    def __init__(self, approvals: _Optional[_Iterable[_Union[Approval, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetApprovalRequest(_message.Message):
    __slots__ = ("approval_id",)
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    approval_id: str
    def __init__(self, approval_id: _Optional[str] = ...) -> None: ...

class GetApprovalResponse(_message.Message):
    __slots__ = ("approval",)
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    approval: Approval
    def __init__(self, approval: _Optional[_Union[Approval, _Mapping]] = ...) -> None: ...

class DecideApprovalRequest(_message.Message):
    __slots__ = ("approval_id", "outcome", "comment", "edited_payload", "payload_hash", "request_id")
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    EDITED_PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_HASH_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    approval_id: str
    outcome: _run_pb2.ApprovalOutcome
    comment: str
    edited_payload: _struct_pb2.Struct
    payload_hash: str
    request_id: str
    def __init__(self, approval_id: _Optional[str] = ..., outcome: _Optional[_Union[_run_pb2.ApprovalOutcome, str]] = ..., comment: _Optional[str] = ..., edited_payload: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., payload_hash: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class DecideApprovalResponse(_message.Message):
    __slots__ = ("approval",)
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    approval: Approval
    def __init__(self, approval: _Optional[_Union[Approval, _Mapping]] = ...) -> None: ...
