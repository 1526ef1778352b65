import datetime

from airspace.agent.v1 import agent_pb2 as _agent_pb2
from google.protobuf import duration_pb2 as _duration_pb2
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

class RunState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RUN_STATE_UNSPECIFIED: _ClassVar[RunState]
    RUN_STATE_QUEUED: _ClassVar[RunState]
    RUN_STATE_RUNNING: _ClassVar[RunState]
    RUN_STATE_WAITING_APPROVAL: _ClassVar[RunState]
    RUN_STATE_COMPLETED: _ClassVar[RunState]
    RUN_STATE_FAILED: _ClassVar[RunState]
    RUN_STATE_CANCELED: _ClassVar[RunState]

class RoutingKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROUTING_KIND_UNSPECIFIED: _ClassVar[RoutingKind]
    ROUTING_KIND_NEXT_STEP: _ClassVar[RoutingKind]
    ROUTING_KIND_FAN_OUT: _ClassVar[RoutingKind]
    ROUTING_KIND_AGGREGATE: _ClassVar[RoutingKind]
    ROUTING_KIND_NEXT_SPEAKER: _ClassVar[RoutingKind]
    ROUTING_KIND_HANDOFF: _ClassVar[RoutingKind]
    ROUTING_KIND_ESCALATION: _ClassVar[RoutingKind]
    ROUTING_KIND_FALLBACK: _ClassVar[RoutingKind]
    ROUTING_KIND_TERMINATE: _ClassVar[RoutingKind]

class Verdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERDICT_UNSPECIFIED: _ClassVar[Verdict]
    VERDICT_ALLOW: _ClassVar[Verdict]
    VERDICT_DENY: _ClassVar[Verdict]
    VERDICT_REQUIRE_APPROVAL: _ClassVar[Verdict]

class ApprovalOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPROVAL_OUTCOME_UNSPECIFIED: _ClassVar[ApprovalOutcome]
    APPROVAL_OUTCOME_APPROVED: _ClassVar[ApprovalOutcome]
    APPROVAL_OUTCOME_REJECTED: _ClassVar[ApprovalOutcome]
    APPROVAL_OUTCOME_EDITED: _ClassVar[ApprovalOutcome]
    APPROVAL_OUTCOME_EXPIRED: _ClassVar[ApprovalOutcome]
RUN_STATE_UNSPECIFIED: RunState
RUN_STATE_QUEUED: RunState
RUN_STATE_RUNNING: RunState
RUN_STATE_WAITING_APPROVAL: RunState
RUN_STATE_COMPLETED: RunState
RUN_STATE_FAILED: RunState
RUN_STATE_CANCELED: RunState
ROUTING_KIND_UNSPECIFIED: RoutingKind
ROUTING_KIND_NEXT_STEP: RoutingKind
ROUTING_KIND_FAN_OUT: RoutingKind
ROUTING_KIND_AGGREGATE: RoutingKind
ROUTING_KIND_NEXT_SPEAKER: RoutingKind
ROUTING_KIND_HANDOFF: RoutingKind
ROUTING_KIND_ESCALATION: RoutingKind
ROUTING_KIND_FALLBACK: RoutingKind
ROUTING_KIND_TERMINATE: RoutingKind
VERDICT_UNSPECIFIED: Verdict
VERDICT_ALLOW: Verdict
VERDICT_DENY: Verdict
VERDICT_REQUIRE_APPROVAL: Verdict
APPROVAL_OUTCOME_UNSPECIFIED: ApprovalOutcome
APPROVAL_OUTCOME_APPROVED: ApprovalOutcome
APPROVAL_OUTCOME_REJECTED: ApprovalOutcome
APPROVAL_OUTCOME_EDITED: ApprovalOutcome
APPROVAL_OUTCOME_EXPIRED: ApprovalOutcome

class Run(_message.Message):
    __slots__ = ("name", "run_id", "tenant", "workflow", "state", "input", "output", "error", "created_by", "create_time", "update_time", "end_time", "trace_id", "request_id", "labels", "usage", "last_event_sequence", "agent_versions")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AgentVersionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    LAST_EVENT_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    AGENT_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    run_id: str
    tenant: str
    workflow: _agent_pb2.WorkflowRef
    state: RunState
    input: _struct_pb2.Struct
    output: _struct_pb2.Struct
    error: _status_pb2.Status
    created_by: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    trace_id: str
    request_id: str
    labels: _containers.ScalarMap[str, str]
    usage: RunUsage
    last_event_sequence: int
    agent_versions: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., run_id: _Optional[str] = ..., tenant: _Optional[str] = ..., workflow: _Optional[_Union[_agent_pb2.WorkflowRef, _Mapping]] = ..., state: _Optional[_Union[RunState, str]] = ..., input: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., output: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., created_by: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., trace_id: _Optional[str] = ..., request_id: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., usage: _Optional[_Union[RunUsage, _Mapping]] = ..., last_event_sequence: _Optional[int] = ..., agent_versions: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RunUsage(_message.Message):
    __slots__ = ("steps", "hops", "tokens", "cost_micros")
    STEPS_FIELD_NUMBER: _ClassVar[int]
    HOPS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_MICROS_FIELD_NUMBER: _ClassVar[int]
    steps: int
    hops: int
    tokens: int
    cost_micros: int
    def __init__(self, steps: _Optional[int] = ..., hops: _Optional[int] = ..., tokens: _Optional[int] = ..., cost_micros: _Optional[int] = ...) -> None: ...

class RunEvent(_message.Message):
    __slots__ = ("run_id", "sequence", "time", "step_key", "agent", "run_state_changed", "step_started", "step_completed", "step_failed", "routing_decision", "guardrail_verdict", "retry_scheduled", "handoff", "approval_requested", "approval_decided", "conflict", "agent_progress", "partial_output", "action_requested", "action_decided", "usage_reported", "transcript_message", "run_output", "lease_taken_over")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    STEP_KEY_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    RUN_STATE_CHANGED_FIELD_NUMBER: _ClassVar[int]
    STEP_STARTED_FIELD_NUMBER: _ClassVar[int]
    STEP_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    STEP_FAILED_FIELD_NUMBER: _ClassVar[int]
    ROUTING_DECISION_FIELD_NUMBER: _ClassVar[int]
    GUARDRAIL_VERDICT_FIELD_NUMBER: _ClassVar[int]
    RETRY_SCHEDULED_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_DECIDED_FIELD_NUMBER: _ClassVar[int]
    CONFLICT_FIELD_NUMBER: _ClassVar[int]
    AGENT_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    ACTION_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    ACTION_DECIDED_FIELD_NUMBER: _ClassVar[int]
    USAGE_REPORTED_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPT_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RUN_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    LEASE_TAKEN_OVER_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    sequence: int
    time: _timestamp_pb2.Timestamp
    step_key: str
    agent: str
    run_state_changed: RunStateChanged
    step_started: StepStarted
    step_completed: StepCompleted
    step_failed: StepFailed
    routing_decision: RoutingDecision
    guardrail_verdict: GuardrailVerdict
    retry_scheduled: RetryScheduled
    handoff: Handoff
    approval_requested: ApprovalRequested
    approval_decided: ApprovalDecided
    conflict: Conflict
    agent_progress: AgentProgress
    partial_output: _agent_pb2.PartialOutput
    action_requested: ActionRequested
    action_decided: ActionDecided
    usage_reported: _agent_pb2.Usage
    transcript_message: _agent_pb2.Message
    run_output: RunOutput
    lease_taken_over: LeaseTakenOver
    def __init__(self, run_id: _Optional[str] = ..., sequence: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., step_key: _Optional[str] = ..., agent: _Optional[str] = ..., run_state_changed: _Optional[_Union[RunStateChanged, _Mapping]] = ..., step_started: _Optional[_Union[StepStarted, _Mapping]] = ..., step_completed: _Optional[_Union[StepCompleted, _Mapping]] = ..., step_failed: _Optional[_Union[StepFailed, _Mapping]] = ..., routing_decision: _Optional[_Union[RoutingDecision, _Mapping]] = ..., guardrail_verdict: _Optional[_Union[GuardrailVerdict, _Mapping]] = ..., retry_scheduled: _Optional[_Union[RetryScheduled, _Mapping]] = ..., handoff: _Optional[_Union[Handoff, _Mapping]] = ..., approval_requested: _Optional[_Union[ApprovalRequested, _Mapping]] = ..., approval_decided: _Optional[_Union[ApprovalDecided, _Mapping]] = ..., conflict: _Optional[_Union[Conflict, _Mapping]] = ..., agent_progress: _Optional[_Union[AgentProgress, _Mapping]] = ..., partial_output: _Optional[_Union[_agent_pb2.PartialOutput, _Mapping]] = ..., action_requested: _Optional[_Union[ActionRequested, _Mapping]] = ..., action_decided: _Optional[_Union[ActionDecided, _Mapping]] = ..., usage_reported: _Optional[_Union[_agent_pb2.Usage, _Mapping]] = ..., transcript_message: _Optional[_Union[_agent_pb2.Message, _Mapping]] = ..., run_output: _Optional[_Union[RunOutput, _Mapping]] = ..., lease_taken_over: _Optional[_Union[LeaseTakenOver, _Mapping]] = ...) -> None: ...

class LeaseTakenOver(_message.Message):
    __slots__ = ("previous_owner", "new_owner", "reason", "fencing_token")
    PREVIOUS_OWNER_FIELD_NUMBER: _ClassVar[int]
    NEW_OWNER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FENCING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    previous_owner: str
    new_owner: str
    reason: str
    fencing_token: int
    def __init__(self, previous_owner: _Optional[str] = ..., new_owner: _Optional[str] = ..., reason: _Optional[str] = ..., fencing_token: _Optional[int] = ...) -> None: ...

class RunStateChanged(_message.Message):
    __slots__ = ("to", "reason", "error")
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    to: RunState
    reason: str
    error: _status_pb2.Status
    def __init__(self, to: _Optional[_Union[RunState, str]] = ..., reason: _Optional[str] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., **kwargs) -> None: ...

class StepStarted(_message.Message):
    __slots__ = ("step_name", "attempt", "idempotency_key", "agent_version", "branch")
    STEP_NAME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    step_name: str
    attempt: int
    idempotency_key: str
    agent_version: str
    branch: str
    def __init__(self, step_name: _Optional[str] = ..., attempt: _Optional[int] = ..., idempotency_key: _Optional[str] = ..., agent_version: _Optional[str] = ..., branch: _Optional[str] = ...) -> None: ...

class StepCompleted(_message.Message):
    __slots__ = ("step_name", "attempt", "output", "duration", "branch")
    STEP_NAME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    step_name: str
    attempt: int
    output: _agent_pb2.FinalOutput
    duration: _duration_pb2.Duration
    branch: str
    def __init__(self, step_name: _Optional[str] = ..., attempt: _Optional[int] = ..., output: _Optional[_Union[_agent_pb2.FinalOutput, _Mapping]] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., branch: _Optional[str] = ...) -> None: ...

class StepFailed(_message.Message):
    __slots__ = ("step_name", "attempt", "error", "will_retry", "duration", "branch")
    STEP_NAME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    WILL_RETRY_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    step_name: str
    attempt: int
    error: _status_pb2.Status
    will_retry: bool
    duration: _duration_pb2.Duration
    branch: str
    def __init__(self, step_name: _Optional[str] = ..., attempt: _Optional[int] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., will_retry: _Optional[bool] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., branch: _Optional[str] = ...) -> None: ...

class RoutingDecision(_message.Message):
    __slots__ = ("kind", "candidates", "chosen", "decided_by", "reason", "expression")
    KIND_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    CHOSEN_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    kind: RoutingKind
    candidates: _containers.RepeatedScalarFieldContainer[str]
    chosen: str
    decided_by: str
    reason: str
    expression: str
    def __init__(self, kind: _Optional[_Union[RoutingKind, str]] = ..., candidates: _Optional[_Iterable[str]] = ..., chosen: _Optional[str] = ..., decided_by: _Optional[str] = ..., reason: _Optional[str] = ..., expression: _Optional[str] = ...) -> None: ...

class GuardrailVerdict(_message.Message):
    __slots__ = ("decision_id", "checkpoint", "verdict", "reasons", "obligations_applied", "bundle_version")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    OBLIGATIONS_APPLIED_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_VERSION_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    checkpoint: str
    verdict: Verdict
    reasons: _containers.RepeatedCompositeFieldContainer[Reason]
    obligations_applied: _containers.RepeatedScalarFieldContainer[str]
    bundle_version: str
    def __init__(self, decision_id: _Optional[str] = ..., checkpoint: _Optional[str] = ..., verdict: _Optional[_Union[Verdict, str]] = ..., reasons: _Optional[_Iterable[_Union[Reason, _Mapping]]] = ..., obligations_applied: _Optional[_Iterable[str]] = ..., bundle_version: _Optional[str] = ...) -> None: ...

class Reason(_message.Message):
    __slots__ = ("code", "rule_id", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    rule_id: str
    message: str
    def __init__(self, code: _Optional[str] = ..., rule_id: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class RetryScheduled(_message.Message):
    __slots__ = ("next_attempt", "backoff", "reason")
    NEXT_ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    BACKOFF_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    next_attempt: int
    backoff: _duration_pb2.Duration
    reason: str
    def __init__(self, next_attempt: _Optional[int] = ..., backoff: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class Handoff(_message.Message):
    __slots__ = ("from_agent", "to_agent", "reason", "accepted", "decision_reason", "hop")
    FROM_AGENT_FIELD_NUMBER: _ClassVar[int]
    TO_AGENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DECISION_REASON_FIELD_NUMBER: _ClassVar[int]
    HOP_FIELD_NUMBER: _ClassVar[int]
    from_agent: str
    to_agent: str
    reason: str
    accepted: bool
    decision_reason: str
    hop: int
    def __init__(self, from_agent: _Optional[str] = ..., to_agent: _Optional[str] = ..., reason: _Optional[str] = ..., accepted: _Optional[bool] = ..., decision_reason: _Optional[str] = ..., hop: _Optional[int] = ...) -> None: ...

class ApprovalRequested(_message.Message):
    __slots__ = ("approval_id", "role", "summary", "expire_time")
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    approval_id: str
    role: str
    summary: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, approval_id: _Optional[str] = ..., role: _Optional[str] = ..., summary: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ApprovalDecided(_message.Message):
    __slots__ = ("approval_id", "outcome", "decided_by", "comment")
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    approval_id: str
    outcome: ApprovalOutcome
    decided_by: str
    comment: str
    def __init__(self, approval_id: _Optional[str] = ..., outcome: _Optional[_Union[ApprovalOutcome, str]] = ..., decided_by: _Optional[str] = ..., comment: _Optional[str] = ...) -> None: ...

class Conflict(_message.Message):
    __slots__ = ("step_name", "answers", "resolved_by", "resolution")
    class AnswersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    STEP_NAME_FIELD_NUMBER: _ClassVar[int]
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_BY_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    step_name: str
    answers: _containers.ScalarMap[str, str]
    resolved_by: str
    resolution: str
    def __init__(self, step_name: _Optional[str] = ..., answers: _Optional[_Mapping[str, str]] = ..., resolved_by: _Optional[str] = ..., resolution: _Optional[str] = ...) -> None: ...

class AgentProgress(_message.Message):
    __slots__ = ("progress",)
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    progress: _agent_pb2.Progress
    def __init__(self, progress: _Optional[_Union[_agent_pb2.Progress, _Mapping]] = ...) -> None: ...

class ActionRequested(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: _agent_pb2.ActionRequest
    def __init__(self, request: _Optional[_Union[_agent_pb2.ActionRequest, _Mapping]] = ...) -> None: ...

class ActionDecided(_message.Message):
    __slots__ = ("decision",)
    DECISION_FIELD_NUMBER: _ClassVar[int]
    decision: _agent_pb2.ActionDecision
    def __init__(self, decision: _Optional[_Union[_agent_pb2.ActionDecision, _Mapping]] = ...) -> None: ...

class RunOutput(_message.Message):
    __slots__ = ("output",)
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    output: _struct_pb2.Struct
    def __init__(self, output: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class StartRunRequest(_message.Message):
    __slots__ = ("workflow", "workflow_version", "input", "request_id", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_VERSION_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    workflow: str
    workflow_version: int
    input: _struct_pb2.Struct
    request_id: str
    labels: _containers.ScalarMap[str, str]
    def __init__(self, workflow: _Optional[str] = ..., workflow_version: _Optional[int] = ..., input: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., request_id: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class StartRunResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: Run
    def __init__(self, run: _Optional[_Union[Run, _Mapping]] = ...) -> None: ...

class ExecuteRunRequest(_message.Message):
    __slots__ = ("workflow", "workflow_version", "input", "request_id", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_VERSION_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    workflow: str
    workflow_version: int
    input: _struct_pb2.Struct
    request_id: str
    labels: _containers.ScalarMap[str, str]
    def __init__(self, workflow: _Optional[str] = ..., workflow_version: _Optional[int] = ..., input: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., request_id: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RunWorkflowRequest(_message.Message):
    __slots__ = ("workflow", "workflow_version", "input", "request_id", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_VERSION_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    workflow: str
    workflow_version: int
    input: _struct_pb2.Struct
    request_id: str
    labels: _containers.ScalarMap[str, str]
    def __init__(self, workflow: _Optional[str] = ..., workflow_version: _Optional[int] = ..., input: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., request_id: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RunWorkflowResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: Run
    def __init__(self, run: _Optional[_Union[Run, _Mapping]] = ...) -> None: ...

class GetRunRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class GetRunResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: Run
    def __init__(self, run: _Optional[_Union[Run, _Mapping]] = ...) -> None: ...

class ListRunsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "workflow", "state")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    workflow: str
    state: RunState
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., workflow: _Optional[str] = ..., state: _Optional[_Union[RunState, str]] = ...) -> None: ...

class ListRunsResponse(_message.Message):
    __slots__ = ("runs", "next_page_token")
    RUNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[Run]
    next_page_token: str
    def __init__(self, runs: _Optional[_Iterable[_Union[Run, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchRunRequest(_message.Message):
    __slots__ = ("run_id", "after_sequence")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    after_sequence: int
    def __init__(self, run_id: _Optional[str] = ..., after_sequence: _Optional[int] = ...) -> None: ...

class CancelRunRequest(_message.Message):
    __slots__ = ("run_id", "reason", "request_id")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    reason: str
    request_id: str
    def __init__(self, run_id: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CancelRunResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: Run
    def __init__(self, run: _Optional[_Union[Run, _Mapping]] = ...) -> None: ...
