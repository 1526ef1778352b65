from airspace.v1 import run_pb2 as _run_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PrincipalKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRINCIPAL_KIND_UNSPECIFIED: _ClassVar[PrincipalKind]
    PRINCIPAL_KIND_USER: _ClassVar[PrincipalKind]
    PRINCIPAL_KIND_SERVICE_ACCOUNT: _ClassVar[PrincipalKind]
    PRINCIPAL_KIND_AGENT: _ClassVar[PrincipalKind]
    PRINCIPAL_KIND_MESH: _ClassVar[PrincipalKind]

class MaskScope(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MASK_SCOPE_UNSPECIFIED: _ClassVar[MaskScope]
    MASK_SCOPE_ENTITY: _ClassVar[MaskScope]
    MASK_SCOPE_FRAGMENT: _ClassVar[MaskScope]
    MASK_SCOPE_ENCODED: _ClassVar[MaskScope]

class MaskOperator(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MASK_OPERATOR_UNSPECIFIED: _ClassVar[MaskOperator]
    MASK_OPERATOR_REDACT: _ClassVar[MaskOperator]
    MASK_OPERATOR_PARTIAL: _ClassVar[MaskOperator]
    MASK_OPERATOR_HASH: _ClassVar[MaskOperator]
    MASK_OPERATOR_TOKENIZE: _ClassVar[MaskOperator]
PRINCIPAL_KIND_UNSPECIFIED: PrincipalKind
PRINCIPAL_KIND_USER: PrincipalKind
PRINCIPAL_KIND_SERVICE_ACCOUNT: PrincipalKind
PRINCIPAL_KIND_AGENT: PrincipalKind
PRINCIPAL_KIND_MESH: PrincipalKind
MASK_SCOPE_UNSPECIFIED: MaskScope
MASK_SCOPE_ENTITY: MaskScope
MASK_SCOPE_FRAGMENT: MaskScope
MASK_SCOPE_ENCODED: MaskScope
MASK_OPERATOR_UNSPECIFIED: MaskOperator
MASK_OPERATOR_REDACT: MaskOperator
MASK_OPERATOR_PARTIAL: MaskOperator
MASK_OPERATOR_HASH: MaskOperator
MASK_OPERATOR_TOKENIZE: MaskOperator

class Subject(_message.Message):
    __slots__ = ("principal", "tenant", "roles", "kind")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    principal: str
    tenant: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    kind: PrincipalKind
    def __init__(self, principal: _Optional[str] = ..., tenant: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., kind: _Optional[_Union[PrincipalKind, str]] = ...) -> None: ...

class Resource(_message.Message):
    __slots__ = ("kind", "name", "tenant", "attributes")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    kind: str
    name: str
    tenant: str
    attributes: _struct_pb2.Struct
    def __init__(self, kind: _Optional[str] = ..., name: _Optional[str] = ..., tenant: _Optional[str] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class CheckRequest(_message.Message):
    __slots__ = ("checkpoint", "subject", "resource", "payload", "run_id", "step_key", "clearances")
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_KEY_FIELD_NUMBER: _ClassVar[int]
    CLEARANCES_FIELD_NUMBER: _ClassVar[int]
    checkpoint: str
    subject: Subject
    resource: Resource
    payload: _struct_pb2.Struct
    run_id: str
    step_key: str
    clearances: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, checkpoint: _Optional[str] = ..., subject: _Optional[_Union[Subject, _Mapping]] = ..., resource: _Optional[_Union[Resource, _Mapping]] = ..., payload: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., run_id: _Optional[str] = ..., step_key: _Optional[str] = ..., clearances: _Optional[_Iterable[str]] = ...) -> None: ...

class CheckResponse(_message.Message):
    __slots__ = ("decision_id", "verdict", "reasons", "obligations", "bundle_version", "dry_run", "approver_role")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    OBLIGATIONS_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_VERSION_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    APPROVER_ROLE_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    verdict: _run_pb2.Verdict
    reasons: _containers.RepeatedCompositeFieldContainer[_run_pb2.Reason]
    obligations: _containers.RepeatedCompositeFieldContainer[Obligation]
    bundle_version: str
    dry_run: bool
    approver_role: str
    def __init__(self, decision_id: _Optional[str] = ..., verdict: _Optional[_Union[_run_pb2.Verdict, str]] = ..., reasons: _Optional[_Iterable[_Union[_run_pb2.Reason, _Mapping]]] = ..., obligations: _Optional[_Iterable[_Union[Obligation, _Mapping]]] = ..., bundle_version: _Optional[str] = ..., dry_run: _Optional[bool] = ..., approver_role: _Optional[str] = ...) -> None: ...

class Obligation(_message.Message):
    __slots__ = ("mask",)
    MASK_FIELD_NUMBER: _ClassVar[int]
    mask: MaskObligation
    def __init__(self, mask: _Optional[_Union[MaskObligation, _Mapping]] = ...) -> None: ...

class MaskObligation(_message.Message):
    __slots__ = ("path", "start", "end", "entity", "operator", "replacement", "scope")
    PATH_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    REPLACEMENT_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    path: str
    start: int
    end: int
    entity: str
    operator: MaskOperator
    replacement: str
    scope: MaskScope
    def __init__(self, path: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., entity: _Optional[str] = ..., operator: _Optional[_Union[MaskOperator, str]] = ..., replacement: _Optional[str] = ..., scope: _Optional[_Union[MaskScope, str]] = ...) -> None: ...

class RecordAuditRequest(_message.Message):
    __slots__ = ("kind", "subject", "run_id", "details")
    KIND_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    kind: str
    subject: Subject
    run_id: str
    details: _struct_pb2.Struct
    def __init__(self, kind: _Optional[str] = ..., subject: _Optional[_Union[Subject, _Mapping]] = ..., run_id: _Optional[str] = ..., details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class RecordAuditResponse(_message.Message):
    __slots__ = ("sequence",)
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    def __init__(self, sequence: _Optional[int] = ...) -> None: ...

class GetBundleRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetBundleResponse(_message.Message):
    __slots__ = ("name", "version", "digest", "dry_run", "rule_ids")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    RULE_IDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    digest: str
    dry_run: bool
    rule_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., digest: _Optional[str] = ..., dry_run: _Optional[bool] = ..., rule_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ReloadBundleRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReloadBundleResponse(_message.Message):
    __slots__ = ("bundle",)
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    bundle: GetBundleResponse
    def __init__(self, bundle: _Optional[_Union[GetBundleResponse, _Mapping]] = ...) -> None: ...

class ResolveTokenRequest(_message.Message):
    __slots__ = ("subject", "token", "run_id")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    subject: Subject
    token: str
    run_id: str
    def __init__(self, subject: _Optional[_Union[Subject, _Mapping]] = ..., token: _Optional[str] = ..., run_id: _Optional[str] = ...) -> None: ...

class ResolveTokenResponse(_message.Message):
    __slots__ = ("value", "entity", "decision_id")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    value: str
    entity: str
    decision_id: str
    def __init__(self, value: _Optional[str] = ..., entity: _Optional[str] = ..., decision_id: _Optional[str] = ...) -> None: ...

class WatchBundleRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WatchBundleResponse(_message.Message):
    __slots__ = ("name", "version", "digest", "document", "source", "hash_key_id", "keepalive")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    HASH_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    KEEPALIVE_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    digest: str
    document: bytes
    source: str
    hash_key_id: str
    keepalive: bool
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., digest: _Optional[str] = ..., document: _Optional[bytes] = ..., source: _Optional[str] = ..., hash_key_id: _Optional[str] = ..., keepalive: _Optional[bool] = ...) -> None: ...

class RecordDecisionsRequest(_message.Message):
    __slots__ = ("records", "request_id")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[AuditRecord]
    request_id: str
    def __init__(self, records: _Optional[_Iterable[_Union[AuditRecord, _Mapping]]] = ..., request_id: _Optional[str] = ...) -> None: ...

class AuditRecord(_message.Message):
    __slots__ = ("kind", "tenant", "principal", "run_id", "decision_id", "details", "tokens", "vault_tenant", "record_id", "outbox_seal")
    KIND_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    VAULT_TENANT_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_SEAL_FIELD_NUMBER: _ClassVar[int]
    kind: str
    tenant: str
    principal: str
    run_id: str
    decision_id: str
    details: _struct_pb2.Struct
    tokens: _containers.RepeatedCompositeFieldContainer[TokenValue]
    vault_tenant: str
    record_id: str
    outbox_seal: bytes
    def __init__(self, kind: _Optional[str] = ..., tenant: _Optional[str] = ..., principal: _Optional[str] = ..., run_id: _Optional[str] = ..., decision_id: _Optional[str] = ..., details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., tokens: _Optional[_Iterable[_Union[TokenValue, _Mapping]]] = ..., vault_tenant: _Optional[str] = ..., record_id: _Optional[str] = ..., outbox_seal: _Optional[bytes] = ...) -> None: ...

class TokenValue(_message.Message):
    __slots__ = ("token", "entity", "value")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    token: str
    entity: str
    value: str
    def __init__(self, token: _Optional[str] = ..., entity: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class RecordDecisionsResponse(_message.Message):
    __slots__ = ("sequences",)
    SEQUENCES_FIELD_NUMBER: _ClassVar[int]
    sequences: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, sequences: _Optional[_Iterable[int]] = ...) -> None: ...
