import datetime

from airspace.agent.v1 import agent_pb2 as _agent_pb2
from airspace.policy.v1 import policy_pb2 as _policy_pb2
from airspace.v1 import agent_registry_pb2 as _agent_registry_pb2
from airspace.v1 import approval_pb2 as _approval_pb2
from airspace.v1 import run_pb2 as _run_pb2
from airspace.v1 import workflow_pb2 as _workflow_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegistryKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REGISTRY_KIND_UNSPECIFIED: _ClassVar[RegistryKind]
    REGISTRY_KIND_WORKFLOW: _ClassVar[RegistryKind]
    REGISTRY_KIND_AGENT: _ClassVar[RegistryKind]
REGISTRY_KIND_UNSPECIFIED: RegistryKind
REGISTRY_KIND_WORKFLOW: RegistryKind
REGISTRY_KIND_AGENT: RegistryKind

class CreateRunRequest(_message.Message):
    __slots__ = ("run", "request_digest", "claim", "audit_records")
    RUN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_DIGEST_FIELD_NUMBER: _ClassVar[int]
    CLAIM_FIELD_NUMBER: _ClassVar[int]
    AUDIT_RECORDS_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.Run
    request_digest: str
    claim: RunClaim
    audit_records: _containers.RepeatedCompositeFieldContainer[_policy_pb2.AuditRecord]
    def __init__(self, run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ..., request_digest: _Optional[str] = ..., claim: _Optional[_Union[RunClaim, _Mapping]] = ..., audit_records: _Optional[_Iterable[_Union[_policy_pb2.AuditRecord, _Mapping]]] = ...) -> None: ...

class RunClaim(_message.Message):
    __slots__ = ("router_id", "epoch")
    ROUTER_ID_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    router_id: str
    epoch: int
    def __init__(self, router_id: _Optional[str] = ..., epoch: _Optional[int] = ...) -> None: ...

class CreateRunResponse(_message.Message):
    __slots__ = ("run", "created", "fencing_token")
    RUN_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    FENCING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.Run
    created: bool
    fencing_token: int
    def __init__(self, run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ..., created: _Optional[bool] = ..., fencing_token: _Optional[int] = ...) -> None: ...

class GetRunRequest(_message.Message):
    __slots__ = ("tenant", "run_id")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    run_id: str
    def __init__(self, tenant: _Optional[str] = ..., run_id: _Optional[str] = ...) -> None: ...

class GetRunResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.Run
    def __init__(self, run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ...) -> None: ...

class ListRunsRequest(_message.Message):
    __slots__ = ("tenant", "page_size", "page_token", "workflow", "state")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    page_size: int
    page_token: str
    workflow: str
    state: _run_pb2.RunState
    def __init__(self, tenant: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., workflow: _Optional[str] = ..., state: _Optional[_Union[_run_pb2.RunState, str]] = ...) -> None: ...

class ListRunsResponse(_message.Message):
    __slots__ = ("runs", "next_page_token")
    RUNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[_run_pb2.Run]
    next_page_token: str
    def __init__(self, runs: _Optional[_Iterable[_Union[_run_pb2.Run, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateRunRequest(_message.Message):
    __slots__ = ("tenant", "run", "update_mask", "expected_states")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_STATES_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    run: _run_pb2.Run
    update_mask: _field_mask_pb2.FieldMask
    expected_states: _containers.RepeatedScalarFieldContainer[_run_pb2.RunState]
    def __init__(self, tenant: _Optional[str] = ..., run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., expected_states: _Optional[_Iterable[_Union[_run_pb2.RunState, str]]] = ...) -> None: ...

class UpdateRunResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.Run
    def __init__(self, run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ...) -> None: ...

class JournalEntry(_message.Message):
    __slots__ = ("step_key", "step_name", "agent", "attempt", "output", "complete_time", "checkpoint")
    STEP_KEY_FIELD_NUMBER: _ClassVar[int]
    STEP_NAME_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_TIME_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    step_key: str
    step_name: str
    agent: str
    attempt: int
    output: _agent_pb2.FinalOutput
    complete_time: _timestamp_pb2.Timestamp
    checkpoint: _struct_pb2.Struct
    def __init__(self, step_key: _Optional[str] = ..., step_name: _Optional[str] = ..., agent: _Optional[str] = ..., attempt: _Optional[int] = ..., output: _Optional[_Union[_agent_pb2.FinalOutput, _Mapping]] = ..., complete_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., checkpoint: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class AppendEventsRequest(_message.Message):
    __slots__ = ("tenant", "run_id", "events", "journal_entries", "expected_last_sequence", "lease_owner", "lease_token", "run_update", "audit_records")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    JOURNAL_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_LAST_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    LEASE_OWNER_FIELD_NUMBER: _ClassVar[int]
    LEASE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RUN_UPDATE_FIELD_NUMBER: _ClassVar[int]
    AUDIT_RECORDS_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    run_id: str
    events: _containers.RepeatedCompositeFieldContainer[_run_pb2.RunEvent]
    journal_entries: _containers.RepeatedCompositeFieldContainer[JournalEntry]
    expected_last_sequence: int
    lease_owner: str
    lease_token: int
    run_update: RunUpdate
    audit_records: _containers.RepeatedCompositeFieldContainer[_policy_pb2.AuditRecord]
    def __init__(self, tenant: _Optional[str] = ..., run_id: _Optional[str] = ..., events: _Optional[_Iterable[_Union[_run_pb2.RunEvent, _Mapping]]] = ..., journal_entries: _Optional[_Iterable[_Union[JournalEntry, _Mapping]]] = ..., expected_last_sequence: _Optional[int] = ..., lease_owner: _Optional[str] = ..., lease_token: _Optional[int] = ..., run_update: _Optional[_Union[RunUpdate, _Mapping]] = ..., audit_records: _Optional[_Iterable[_Union[_policy_pb2.AuditRecord, _Mapping]]] = ...) -> None: ...

class RunUpdate(_message.Message):
    __slots__ = ("run", "update_mask", "expected_states")
    RUN_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_STATES_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.Run
    update_mask: _field_mask_pb2.FieldMask
    expected_states: _containers.RepeatedScalarFieldContainer[_run_pb2.RunState]
    def __init__(self, run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., expected_states: _Optional[_Iterable[_Union[_run_pb2.RunState, str]]] = ...) -> None: ...

class AppendEventsResponse(_message.Message):
    __slots__ = ("last_sequence", "run")
    LAST_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    last_sequence: int
    run: _run_pb2.Run
    def __init__(self, last_sequence: _Optional[int] = ..., run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ...) -> None: ...

class BatchWriteRunsRequest(_message.Message):
    __slots__ = ("writes",)
    WRITES_FIELD_NUMBER: _ClassVar[int]
    writes: _containers.RepeatedCompositeFieldContainer[RunWrite]
    def __init__(self, writes: _Optional[_Iterable[_Union[RunWrite, _Mapping]]] = ...) -> None: ...

class RunWrite(_message.Message):
    __slots__ = ("create_run", "append_events")
    CREATE_RUN_FIELD_NUMBER: _ClassVar[int]
    APPEND_EVENTS_FIELD_NUMBER: _ClassVar[int]
    create_run: CreateRunRequest
    append_events: AppendEventsRequest
    def __init__(self, create_run: _Optional[_Union[CreateRunRequest, _Mapping]] = ..., append_events: _Optional[_Union[AppendEventsRequest, _Mapping]] = ...) -> None: ...

class BatchWriteRunsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[RunWriteResult]
    def __init__(self, results: _Optional[_Iterable[_Union[RunWriteResult, _Mapping]]] = ...) -> None: ...

class RunWriteResult(_message.Message):
    __slots__ = ("create_run", "append_events", "error")
    CREATE_RUN_FIELD_NUMBER: _ClassVar[int]
    APPEND_EVENTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    create_run: CreateRunResponse
    append_events: AppendEventsResponse
    error: _status_pb2.Status
    def __init__(self, create_run: _Optional[_Union[CreateRunResponse, _Mapping]] = ..., append_events: _Optional[_Union[AppendEventsResponse, _Mapping]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...

class ListEventsRequest(_message.Message):
    __slots__ = ("tenant", "run_id", "after_sequence", "page_size")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    run_id: str
    after_sequence: int
    page_size: int
    def __init__(self, tenant: _Optional[str] = ..., run_id: _Optional[str] = ..., after_sequence: _Optional[int] = ..., page_size: _Optional[int] = ...) -> None: ...

class ListEventsResponse(_message.Message):
    __slots__ = ("events", "run_ended")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    RUN_ENDED_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_run_pb2.RunEvent]
    run_ended: bool
    def __init__(self, events: _Optional[_Iterable[_Union[_run_pb2.RunEvent, _Mapping]]] = ..., run_ended: _Optional[bool] = ...) -> None: ...

class WatchEventsRequest(_message.Message):
    __slots__ = ("tenant", "run_id", "after_sequence")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    run_id: str
    after_sequence: int
    def __init__(self, tenant: _Optional[str] = ..., run_id: _Optional[str] = ..., after_sequence: _Optional[int] = ...) -> None: ...

class GetJournalRequest(_message.Message):
    __slots__ = ("tenant", "run_id")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    run_id: str
    def __init__(self, tenant: _Optional[str] = ..., run_id: _Optional[str] = ...) -> None: ...

class GetJournalResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[JournalEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[JournalEntry, _Mapping]]] = ...) -> None: ...

class PruneRunsRequest(_message.Message):
    __slots__ = ("tenant", "finished_before", "validate_only", "page_size")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    finished_before: _timestamp_pb2.Timestamp
    validate_only: bool
    page_size: int
    def __init__(self, tenant: _Optional[str] = ..., finished_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., validate_only: _Optional[bool] = ..., page_size: _Optional[int] = ...) -> None: ...

class PruneRunsResponse(_message.Message):
    __slots__ = ("pruned_runs", "deleted_events", "deleted_journal_entries", "more")
    PRUNED_RUNS_FIELD_NUMBER: _ClassVar[int]
    DELETED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    DELETED_JOURNAL_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    pruned_runs: int
    deleted_events: int
    deleted_journal_entries: int
    more: bool
    def __init__(self, pruned_runs: _Optional[int] = ..., deleted_events: _Optional[int] = ..., deleted_journal_entries: _Optional[int] = ..., more: _Optional[bool] = ...) -> None: ...

class PutWorkflowRequest(_message.Message):
    __slots__ = ("workflow",)
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    workflow: _workflow_pb2.Workflow
    def __init__(self, workflow: _Optional[_Union[_workflow_pb2.Workflow, _Mapping]] = ...) -> None: ...

class PutWorkflowResponse(_message.Message):
    __slots__ = ("workflow", "created")
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    workflow: _workflow_pb2.Workflow
    created: bool
    def __init__(self, workflow: _Optional[_Union[_workflow_pb2.Workflow, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetWorkflowRequest(_message.Message):
    __slots__ = ("tenant", "workflow", "version")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    workflow: str
    version: int
    def __init__(self, tenant: _Optional[str] = ..., workflow: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class GetWorkflowResponse(_message.Message):
    __slots__ = ("workflow",)
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    workflow: _workflow_pb2.Workflow
    def __init__(self, workflow: _Optional[_Union[_workflow_pb2.Workflow, _Mapping]] = ...) -> None: ...

class ListWorkflowsRequest(_message.Message):
    __slots__ = ("tenant", "page_size", "page_token")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    page_size: int
    page_token: str
    def __init__(self, tenant: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListWorkflowsResponse(_message.Message):
    __slots__ = ("workflows", "next_page_token")
    WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    workflows: _containers.RepeatedCompositeFieldContainer[_workflow_pb2.Workflow]
    next_page_token: str
    def __init__(self, workflows: _Optional[_Iterable[_Union[_workflow_pb2.Workflow, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteWorkflowRequest(_message.Message):
    __slots__ = ("tenant", "workflow")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    workflow: str
    def __init__(self, tenant: _Optional[str] = ..., workflow: _Optional[str] = ...) -> None: ...

class DeleteWorkflowResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PutAgentRequest(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: _agent_registry_pb2.Agent
    def __init__(self, agent: _Optional[_Union[_agent_registry_pb2.Agent, _Mapping]] = ...) -> None: ...

class PutAgentResponse(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: _agent_registry_pb2.Agent
    def __init__(self, agent: _Optional[_Union[_agent_registry_pb2.Agent, _Mapping]] = ...) -> None: ...

class GetAgentRequest(_message.Message):
    __slots__ = ("tenant", "agent")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    agent: str
    def __init__(self, tenant: _Optional[str] = ..., agent: _Optional[str] = ...) -> None: ...

class GetAgentResponse(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: _agent_registry_pb2.Agent
    def __init__(self, agent: _Optional[_Union[_agent_registry_pb2.Agent, _Mapping]] = ...) -> None: ...

class ListAgentsRequest(_message.Message):
    __slots__ = ("tenant", "page_size", "page_token")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    page_size: int
    page_token: str
    def __init__(self, tenant: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAgentsResponse(_message.Message):
    __slots__ = ("agents", "next_page_token")
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    agents: _containers.RepeatedCompositeFieldContainer[_agent_registry_pb2.Agent]
    next_page_token: str
    def __init__(self, agents: _Optional[_Iterable[_Union[_agent_registry_pb2.Agent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteAgentRequest(_message.Message):
    __slots__ = ("tenant", "agent")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    agent: str
    def __init__(self, tenant: _Optional[str] = ..., agent: _Optional[str] = ...) -> None: ...

class DeleteAgentResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreateApprovalRequest(_message.Message):
    __slots__ = ("approval",)
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    approval: _approval_pb2.Approval
    def __init__(self, approval: _Optional[_Union[_approval_pb2.Approval, _Mapping]] = ...) -> None: ...

class CreateApprovalResponse(_message.Message):
    __slots__ = ("approval",)
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    approval: _approval_pb2.Approval
    def __init__(self, approval: _Optional[_Union[_approval_pb2.Approval, _Mapping]] = ...) -> None: ...

class GetApprovalRequest(_message.Message):
    __slots__ = ("tenant", "approval_id")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    approval_id: str
    def __init__(self, tenant: _Optional[str] = ..., approval_id: _Optional[str] = ...) -> None: ...

class GetApprovalResponse(_message.Message):
    __slots__ = ("approval",)
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    approval: _approval_pb2.Approval
    def __init__(self, approval: _Optional[_Union[_approval_pb2.Approval, _Mapping]] = ...) -> None: ...

class ListApprovalsRequest(_message.Message):
    __slots__ = ("tenant", "state", "roles", "run_id", "page_size", "page_token")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    state: _approval_pb2.ApprovalState
    roles: _containers.RepeatedScalarFieldContainer[str]
    run_id: str
    page_size: int
    page_token: str
    def __init__(self, tenant: _Optional[str] = ..., state: _Optional[_Union[_approval_pb2.ApprovalState, str]] = ..., roles: _Optional[_Iterable[str]] = ..., run_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListApprovalsResponse(_message.Message):
    __slots__ = ("approvals", "next_page_token")
    APPROVALS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    approvals: _containers.RepeatedCompositeFieldContainer[_approval_pb2.Approval]
    next_page_token: str
    def __init__(self, approvals: _Optional[_Iterable[_Union[_approval_pb2.Approval, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DecideApprovalRequest(_message.Message):
    __slots__ = ("tenant", "approval_id", "outcome", "decided_by", "comment", "edited_payload")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    EDITED_PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    approval_id: str
    outcome: _run_pb2.ApprovalOutcome
    decided_by: str
    comment: str
    edited_payload: _struct_pb2.Struct
    def __init__(self, tenant: _Optional[str] = ..., approval_id: _Optional[str] = ..., outcome: _Optional[_Union[_run_pb2.ApprovalOutcome, str]] = ..., decided_by: _Optional[str] = ..., comment: _Optional[str] = ..., edited_payload: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class DecideApprovalResponse(_message.Message):
    __slots__ = ("approval",)
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    approval: _approval_pb2.Approval
    def __init__(self, approval: _Optional[_Union[_approval_pb2.Approval, _Mapping]] = ...) -> None: ...

class ListDueApprovalsRequest(_message.Message):
    __slots__ = ("due_before", "page_size")
    DUE_BEFORE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    due_before: _timestamp_pb2.Timestamp
    page_size: int
    def __init__(self, due_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ...) -> None: ...

class ListDueApprovalsResponse(_message.Message):
    __slots__ = ("approvals",)
    APPROVALS_FIELD_NUMBER: _ClassVar[int]
    approvals: _containers.RepeatedCompositeFieldContainer[_approval_pb2.Approval]
    def __init__(self, approvals: _Optional[_Iterable[_Union[_approval_pb2.Approval, _Mapping]]] = ...) -> None: ...

class MemoryEntry(_message.Message):
    __slots__ = ("namespace", "key", "value", "version", "expire_time", "update_time")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    key: str
    value: _struct_pb2.Value
    version: int
    expire_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, namespace: _Optional[str] = ..., key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., version: _Optional[int] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetMemoryRequest(_message.Message):
    __slots__ = ("tenant", "namespace", "key")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    namespace: str
    key: str
    def __init__(self, tenant: _Optional[str] = ..., namespace: _Optional[str] = ..., key: _Optional[str] = ...) -> None: ...

class GetMemoryResponse(_message.Message):
    __slots__ = ("entry",)
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    entry: MemoryEntry
    def __init__(self, entry: _Optional[_Union[MemoryEntry, _Mapping]] = ...) -> None: ...

class PutMemoryRequest(_message.Message):
    __slots__ = ("tenant", "namespace", "key", "value", "expected_version", "ttl", "request_id")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    namespace: str
    key: str
    value: _struct_pb2.Value
    expected_version: int
    ttl: _duration_pb2.Duration
    request_id: str
    def __init__(self, tenant: _Optional[str] = ..., namespace: _Optional[str] = ..., key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., expected_version: _Optional[int] = ..., ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class PutMemoryResponse(_message.Message):
    __slots__ = ("entry",)
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    entry: MemoryEntry
    def __init__(self, entry: _Optional[_Union[MemoryEntry, _Mapping]] = ...) -> None: ...

class DeleteMemoryRequest(_message.Message):
    __slots__ = ("tenant", "namespace", "key", "expected_version")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    namespace: str
    key: str
    expected_version: int
    def __init__(self, tenant: _Optional[str] = ..., namespace: _Optional[str] = ..., key: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class DeleteMemoryResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListMemoryRequest(_message.Message):
    __slots__ = ("tenant", "namespace", "key_prefix", "page_size", "page_token")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    KEY_PREFIX_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    namespace: str
    key_prefix: str
    page_size: int
    page_token: str
    def __init__(self, tenant: _Optional[str] = ..., namespace: _Optional[str] = ..., key_prefix: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMemoryResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[MemoryEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[MemoryEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class AcquireLeaseRequest(_message.Message):
    __slots__ = ("run_id", "owner", "ttl")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    owner: str
    ttl: _duration_pb2.Duration
    def __init__(self, run_id: _Optional[str] = ..., owner: _Optional[str] = ..., ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class AcquireLeaseResponse(_message.Message):
    __slots__ = ("acquired", "owner", "expire_time", "fencing_token", "previous_owner")
    ACQUIRED_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    FENCING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_OWNER_FIELD_NUMBER: _ClassVar[int]
    acquired: bool
    owner: str
    expire_time: _timestamp_pb2.Timestamp
    fencing_token: int
    previous_owner: str
    def __init__(self, acquired: _Optional[bool] = ..., owner: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., fencing_token: _Optional[int] = ..., previous_owner: _Optional[str] = ...) -> None: ...

class ReleaseLeaseRequest(_message.Message):
    __slots__ = ("run_id", "owner", "fencing_token")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    FENCING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    owner: str
    fencing_token: int
    def __init__(self, run_id: _Optional[str] = ..., owner: _Optional[str] = ..., fencing_token: _Optional[int] = ...) -> None: ...

class ReleaseLeaseResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListClaimableRunsRequest(_message.Message):
    __slots__ = ("page_size", "min_age")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    MIN_AGE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    min_age: _duration_pb2.Duration
    def __init__(self, page_size: _Optional[int] = ..., min_age: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ListClaimableRunsResponse(_message.Message):
    __slots__ = ("runs",)
    RUNS_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[_run_pb2.Run]
    def __init__(self, runs: _Optional[_Iterable[_Union[_run_pb2.Run, _Mapping]]] = ...) -> None: ...

class RegisterRouterRequest(_message.Message):
    __slots__ = ("router_id", "ttl")
    ROUTER_ID_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    router_id: str
    ttl: _duration_pb2.Duration
    def __init__(self, router_id: _Optional[str] = ..., ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class RegisterRouterResponse(_message.Message):
    __slots__ = ("epoch", "expire_time")
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    epoch: int
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, epoch: _Optional[int] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RenewRouterLeaseRequest(_message.Message):
    __slots__ = ("router_id", "epoch", "ttl")
    ROUTER_ID_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    router_id: str
    epoch: int
    ttl: _duration_pb2.Duration
    def __init__(self, router_id: _Optional[str] = ..., epoch: _Optional[int] = ..., ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class RenewRouterLeaseResponse(_message.Message):
    __slots__ = ("expire_time", "takeover_pending")
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    TAKEOVER_PENDING_FIELD_NUMBER: _ClassVar[int]
    expire_time: _timestamp_pb2.Timestamp
    takeover_pending: bool
    def __init__(self, expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., takeover_pending: _Optional[bool] = ...) -> None: ...

class DeregisterRouterRequest(_message.Message):
    __slots__ = ("router_id", "epoch")
    ROUTER_ID_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    router_id: str
    epoch: int
    def __init__(self, router_id: _Optional[str] = ..., epoch: _Optional[int] = ...) -> None: ...

class DeregisterRouterResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ClaimRunRequest(_message.Message):
    __slots__ = ("run_id", "router_id", "epoch")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ROUTER_ID_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    router_id: str
    epoch: int
    def __init__(self, run_id: _Optional[str] = ..., router_id: _Optional[str] = ..., epoch: _Optional[int] = ...) -> None: ...

class ClaimRunResponse(_message.Message):
    __slots__ = ("acquired", "owner", "fencing_token", "previous_owner")
    ACQUIRED_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    FENCING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_OWNER_FIELD_NUMBER: _ClassVar[int]
    acquired: bool
    owner: str
    fencing_token: int
    previous_owner: str
    def __init__(self, acquired: _Optional[bool] = ..., owner: _Optional[str] = ..., fencing_token: _Optional[int] = ..., previous_owner: _Optional[str] = ...) -> None: ...

class ClaimRunsRequest(_message.Message):
    __slots__ = ("router_id", "epoch", "page_size", "min_age")
    ROUTER_ID_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    MIN_AGE_FIELD_NUMBER: _ClassVar[int]
    router_id: str
    epoch: int
    page_size: int
    min_age: _duration_pb2.Duration
    def __init__(self, router_id: _Optional[str] = ..., epoch: _Optional[int] = ..., page_size: _Optional[int] = ..., min_age: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ClaimedRun(_message.Message):
    __slots__ = ("run", "fencing_token", "previous_owner")
    RUN_FIELD_NUMBER: _ClassVar[int]
    FENCING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_OWNER_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.Run
    fencing_token: int
    previous_owner: str
    def __init__(self, run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ..., fencing_token: _Optional[int] = ..., previous_owner: _Optional[str] = ...) -> None: ...

class ClaimRunsResponse(_message.Message):
    __slots__ = ("runs",)
    RUNS_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[ClaimedRun]
    def __init__(self, runs: _Optional[_Iterable[_Union[ClaimedRun, _Mapping]]] = ...) -> None: ...

class ClaimAuditOutboxRequest(_message.Message):
    __slots__ = ("router_id", "epoch", "page_size")
    ROUTER_ID_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    router_id: str
    epoch: int
    page_size: int
    def __init__(self, router_id: _Optional[str] = ..., epoch: _Optional[int] = ..., page_size: _Optional[int] = ...) -> None: ...

class ClaimAuditOutboxResponse(_message.Message):
    __slots__ = ("records",)
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[_policy_pb2.AuditRecord]
    def __init__(self, records: _Optional[_Iterable[_Union[_policy_pb2.AuditRecord, _Mapping]]] = ...) -> None: ...

class RemoveAuditOutboxRequest(_message.Message):
    __slots__ = ("record_ids",)
    RECORD_IDS_FIELD_NUMBER: _ClassVar[int]
    record_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, record_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class RemoveAuditOutboxResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: int
    def __init__(self, removed: _Optional[int] = ...) -> None: ...

class WatchRegistryRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WatchRegistryResponse(_message.Message):
    __slots__ = ("live", "change")
    LIVE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    live: RegistryWatchLive
    change: RegistryChange
    def __init__(self, live: _Optional[_Union[RegistryWatchLive, _Mapping]] = ..., change: _Optional[_Union[RegistryChange, _Mapping]] = ...) -> None: ...

class RegistryWatchLive(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RegistryChange(_message.Message):
    __slots__ = ("kind", "tenant", "name", "revision")
    KIND_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    kind: RegistryKind
    tenant: str
    name: str
    revision: int
    def __init__(self, kind: _Optional[_Union[RegistryKind, str]] = ..., tenant: _Optional[str] = ..., name: _Optional[str] = ..., revision: _Optional[int] = ...) -> None: ...
