import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DataClass(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DATA_CLASS_UNSPECIFIED: _ClassVar[DataClass]
    DATA_CLASS_PII: _ClassVar[DataClass]
    DATA_CLASS_FINANCIAL: _ClassVar[DataClass]
    DATA_CLASS_SECRET: _ClassVar[DataClass]
    DATA_CLASS_HEALTH: _ClassVar[DataClass]

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_USER: _ClassVar[Role]
    ROLE_AGENT: _ClassVar[Role]
    ROLE_SYSTEM: _ClassVar[Role]
    ROLE_TOOL: _ClassVar[Role]

class TaskState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_STATE_UNSPECIFIED: _ClassVar[TaskState]
    TASK_STATE_SUBMITTED: _ClassVar[TaskState]
    TASK_STATE_WORKING: _ClassVar[TaskState]
    TASK_STATE_INPUT_REQUIRED: _ClassVar[TaskState]
    TASK_STATE_COMPLETED: _ClassVar[TaskState]
    TASK_STATE_FAILED: _ClassVar[TaskState]
    TASK_STATE_CANCELED: _ClassVar[TaskState]
    TASK_STATE_REJECTED: _ClassVar[TaskState]

class ActionVerdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_VERDICT_UNSPECIFIED: _ClassVar[ActionVerdict]
    ACTION_VERDICT_ALLOWED: _ClassVar[ActionVerdict]
    ACTION_VERDICT_DENIED: _ClassVar[ActionVerdict]
    ACTION_VERDICT_PENDING_APPROVAL: _ClassVar[ActionVerdict]

class AgentErrorKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGENT_ERROR_KIND_UNSPECIFIED: _ClassVar[AgentErrorKind]
    AGENT_ERROR_KIND_INVALID_INPUT: _ClassVar[AgentErrorKind]
    AGENT_ERROR_KIND_DEPENDENCY: _ClassVar[AgentErrorKind]
    AGENT_ERROR_KIND_REJECTED: _ClassVar[AgentErrorKind]
    AGENT_ERROR_KIND_PENDING_APPROVAL: _ClassVar[AgentErrorKind]
    AGENT_ERROR_KIND_INTERNAL: _ClassVar[AgentErrorKind]
DATA_CLASS_UNSPECIFIED: DataClass
DATA_CLASS_PII: DataClass
DATA_CLASS_FINANCIAL: DataClass
DATA_CLASS_SECRET: DataClass
DATA_CLASS_HEALTH: DataClass
ROLE_UNSPECIFIED: Role
ROLE_USER: Role
ROLE_AGENT: Role
ROLE_SYSTEM: Role
ROLE_TOOL: Role
TASK_STATE_UNSPECIFIED: TaskState
TASK_STATE_SUBMITTED: TaskState
TASK_STATE_WORKING: TaskState
TASK_STATE_INPUT_REQUIRED: TaskState
TASK_STATE_COMPLETED: TaskState
TASK_STATE_FAILED: TaskState
TASK_STATE_CANCELED: TaskState
TASK_STATE_REJECTED: TaskState
ACTION_VERDICT_UNSPECIFIED: ActionVerdict
ACTION_VERDICT_ALLOWED: ActionVerdict
ACTION_VERDICT_DENIED: ActionVerdict
ACTION_VERDICT_PENDING_APPROVAL: ActionVerdict
AGENT_ERROR_KIND_UNSPECIFIED: AgentErrorKind
AGENT_ERROR_KIND_INVALID_INPUT: AgentErrorKind
AGENT_ERROR_KIND_DEPENDENCY: AgentErrorKind
AGENT_ERROR_KIND_REJECTED: AgentErrorKind
AGENT_ERROR_KIND_PENDING_APPROVAL: AgentErrorKind
AGENT_ERROR_KIND_INTERNAL: AgentErrorKind

class GetAgentCardRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetAgentCardResponse(_message.Message):
    __slots__ = ("card",)
    CARD_FIELD_NUMBER: _ClassVar[int]
    card: AgentCard
    def __init__(self, card: _Optional[_Union[AgentCard, _Mapping]] = ...) -> None: ...

class AgentCard(_message.Message):
    __slots__ = ("name", "version", "description", "skills", "input_modes", "output_modes", "clearances", "capabilities", "provider", "runtime")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    INPUT_MODES_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_MODES_FIELD_NUMBER: _ClassVar[int]
    CLEARANCES_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    description: str
    skills: _containers.RepeatedCompositeFieldContainer[AgentSkill]
    input_modes: _containers.RepeatedScalarFieldContainer[str]
    output_modes: _containers.RepeatedScalarFieldContainer[str]
    clearances: _containers.RepeatedScalarFieldContainer[DataClass]
    capabilities: AgentCapabilities
    provider: str
    runtime: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., description: _Optional[str] = ..., skills: _Optional[_Iterable[_Union[AgentSkill, _Mapping]]] = ..., input_modes: _Optional[_Iterable[str]] = ..., output_modes: _Optional[_Iterable[str]] = ..., clearances: _Optional[_Iterable[_Union[DataClass, str]]] = ..., capabilities: _Optional[_Union[AgentCapabilities, _Mapping]] = ..., provider: _Optional[str] = ..., runtime: _Optional[str] = ...) -> None: ...

class AgentSkill(_message.Message):
    __slots__ = ("id", "name", "description", "tags", "examples")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    examples: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., examples: _Optional[_Iterable[str]] = ...) -> None: ...

class AgentCapabilities(_message.Message):
    __slots__ = ("streaming", "actions", "handoff", "idempotent")
    STREAMING_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENT_FIELD_NUMBER: _ClassVar[int]
    streaming: bool
    actions: bool
    handoff: bool
    idempotent: bool
    def __init__(self, streaming: _Optional[bool] = ..., actions: _Optional[bool] = ..., handoff: _Optional[bool] = ..., idempotent: _Optional[bool] = ...) -> None: ...

class InvokeRequest(_message.Message):
    __slots__ = ("start", "action_decision")
    START_FIELD_NUMBER: _ClassVar[int]
    ACTION_DECISION_FIELD_NUMBER: _ClassVar[int]
    start: InvokeStart
    action_decision: ActionDecision
    def __init__(self, start: _Optional[_Union[InvokeStart, _Mapping]] = ..., action_decision: _Optional[_Union[ActionDecision, _Mapping]] = ...) -> None: ...

class InvokeStart(_message.Message):
    __slots__ = ("idempotency_key", "run_id", "step_key", "attempt", "trace_id", "tenant", "workflow", "hop_count", "budget", "input", "context", "parameters", "allowed_handoffs", "allowed_actions", "prior_action_decisions", "step_name", "memory_namespace")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_KEY_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    HOP_COUNT_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_HANDOFFS_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    PRIOR_ACTION_DECISIONS_FIELD_NUMBER: _ClassVar[int]
    STEP_NAME_FIELD_NUMBER: _ClassVar[int]
    MEMORY_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    run_id: str
    step_key: str
    attempt: int
    trace_id: str
    tenant: str
    workflow: WorkflowRef
    hop_count: int
    budget: Budget
    input: Message
    context: _containers.RepeatedCompositeFieldContainer[Message]
    parameters: _struct_pb2.Struct
    allowed_handoffs: _containers.RepeatedScalarFieldContainer[str]
    allowed_actions: _containers.RepeatedScalarFieldContainer[str]
    prior_action_decisions: _containers.RepeatedCompositeFieldContainer[ActionDecision]
    step_name: str
    memory_namespace: str
    def __init__(self, idempotency_key: _Optional[str] = ..., run_id: _Optional[str] = ..., step_key: _Optional[str] = ..., attempt: _Optional[int] = ..., trace_id: _Optional[str] = ..., tenant: _Optional[str] = ..., workflow: _Optional[_Union[WorkflowRef, _Mapping]] = ..., hop_count: _Optional[int] = ..., budget: _Optional[_Union[Budget, _Mapping]] = ..., input: _Optional[_Union[Message, _Mapping]] = ..., context: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., allowed_handoffs: _Optional[_Iterable[str]] = ..., allowed_actions: _Optional[_Iterable[str]] = ..., prior_action_decisions: _Optional[_Iterable[_Union[ActionDecision, _Mapping]]] = ..., step_name: _Optional[str] = ..., memory_namespace: _Optional[str] = ...) -> None: ...

class WorkflowRef(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class Budget(_message.Message):
    __slots__ = ("steps_left", "hops_left", "tokens_left", "cost_micros_left", "time_left")
    STEPS_LEFT_FIELD_NUMBER: _ClassVar[int]
    HOPS_LEFT_FIELD_NUMBER: _ClassVar[int]
    TOKENS_LEFT_FIELD_NUMBER: _ClassVar[int]
    COST_MICROS_LEFT_FIELD_NUMBER: _ClassVar[int]
    TIME_LEFT_FIELD_NUMBER: _ClassVar[int]
    steps_left: int
    hops_left: int
    tokens_left: int
    cost_micros_left: int
    time_left: _duration_pb2.Duration
    def __init__(self, steps_left: _Optional[int] = ..., hops_left: _Optional[int] = ..., tokens_left: _Optional[int] = ..., cost_micros_left: _Optional[int] = ..., time_left: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("message_id", "role", "author", "parts", "metadata", "create_time")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    role: Role
    author: str
    parts: _containers.RepeatedCompositeFieldContainer[Part]
    metadata: _struct_pb2.Struct
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, message_id: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., author: _Optional[str] = ..., parts: _Optional[_Iterable[_Union[Part, _Mapping]]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Part(_message.Message):
    __slots__ = ("text", "data", "file", "media_type")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    text: str
    data: _struct_pb2.Struct
    file: FilePart
    media_type: str
    def __init__(self, text: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., file: _Optional[_Union[FilePart, _Mapping]] = ..., media_type: _Optional[str] = ...) -> None: ...

class FilePart(_message.Message):
    __slots__ = ("name", "media_type", "uri", "inline_bytes")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    INLINE_BYTES_FIELD_NUMBER: _ClassVar[int]
    name: str
    media_type: str
    uri: str
    inline_bytes: bytes
    def __init__(self, name: _Optional[str] = ..., media_type: _Optional[str] = ..., uri: _Optional[str] = ..., inline_bytes: _Optional[bytes] = ...) -> None: ...

class Artifact(_message.Message):
    __slots__ = ("artifact_id", "name", "parts")
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    artifact_id: str
    name: str
    parts: _containers.RepeatedCompositeFieldContainer[Part]
    def __init__(self, artifact_id: _Optional[str] = ..., name: _Optional[str] = ..., parts: _Optional[_Iterable[_Union[Part, _Mapping]]] = ...) -> None: ...

class InvokeEvent(_message.Message):
    __slots__ = ("sequence", "progress", "partial", "action_request", "usage", "final", "handoff", "error")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_FIELD_NUMBER: _ClassVar[int]
    ACTION_REQUEST_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    progress: Progress
    partial: PartialOutput
    action_request: ActionRequest
    usage: Usage
    final: FinalOutput
    handoff: HandoffRequest
    error: AgentError
    def __init__(self, sequence: _Optional[int] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., partial: _Optional[_Union[PartialOutput, _Mapping]] = ..., action_request: _Optional[_Union[ActionRequest, _Mapping]] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., final: _Optional[_Union[FinalOutput, _Mapping]] = ..., handoff: _Optional[_Union[HandoffRequest, _Mapping]] = ..., error: _Optional[_Union[AgentError, _Mapping]] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ("message", "fraction", "state")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FRACTION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    message: str
    fraction: float
    state: TaskState
    def __init__(self, message: _Optional[str] = ..., fraction: _Optional[float] = ..., state: _Optional[_Union[TaskState, str]] = ...) -> None: ...

class PartialOutput(_message.Message):
    __slots__ = ("part",)
    PART_FIELD_NUMBER: _ClassVar[int]
    part: Part
    def __init__(self, part: _Optional[_Union[Part, _Mapping]] = ...) -> None: ...

class FinalOutput(_message.Message):
    __slots__ = ("message", "artifacts", "data", "confidence")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    message: Message
    artifacts: _containers.RepeatedCompositeFieldContainer[Artifact]
    data: _struct_pb2.Struct
    confidence: float
    def __init__(self, message: _Optional[_Union[Message, _Mapping]] = ..., artifacts: _Optional[_Iterable[_Union[Artifact, _Mapping]]] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., confidence: _Optional[float] = ...) -> None: ...

class HandoffRequest(_message.Message):
    __slots__ = ("target", "reason", "message", "data")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    target: str
    reason: str
    message: Message
    data: _struct_pb2.Struct
    def __init__(self, target: _Optional[str] = ..., reason: _Optional[str] = ..., message: _Optional[_Union[Message, _Mapping]] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ActionRequest(_message.Message):
    __slots__ = ("action_id", "name", "arguments", "reason")
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    action_id: str
    name: str
    arguments: _struct_pb2.Struct
    reason: str
    def __init__(self, action_id: _Optional[str] = ..., name: _Optional[str] = ..., arguments: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class ActionDecision(_message.Message):
    __slots__ = ("action_id", "verdict", "reason", "approval_id", "arguments")
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    action_id: str
    verdict: ActionVerdict
    reason: str
    approval_id: str
    arguments: _struct_pb2.Struct
    def __init__(self, action_id: _Optional[str] = ..., verdict: _Optional[_Union[ActionVerdict, str]] = ..., reason: _Optional[str] = ..., approval_id: _Optional[str] = ..., arguments: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("input_tokens", "output_tokens", "cost_micros", "model")
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_MICROS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    input_tokens: int
    output_tokens: int
    cost_micros: int
    model: str
    def __init__(self, input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cost_micros: _Optional[int] = ..., model: _Optional[str] = ...) -> None: ...

class AgentError(_message.Message):
    __slots__ = ("kind", "message", "retryable")
    KIND_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    kind: AgentErrorKind
    message: str
    retryable: bool
    def __init__(self, kind: _Optional[_Union[AgentErrorKind, str]] = ..., message: _Optional[str] = ..., retryable: _Optional[bool] = ...) -> None: ...
