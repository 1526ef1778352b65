import datetime

from airspace.agent.v1 import agent_pb2 as _agent_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AgentProtocol(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGENT_PROTOCOL_UNSPECIFIED: _ClassVar[AgentProtocol]
    AGENT_PROTOCOL_AIRSPACE: _ClassVar[AgentProtocol]
    AGENT_PROTOCOL_A2A: _ClassVar[AgentProtocol]
AGENT_PROTOCOL_UNSPECIFIED: AgentProtocol
AGENT_PROTOCOL_AIRSPACE: AgentProtocol
AGENT_PROTOCOL_A2A: AgentProtocol

class Agent(_message.Message):
    __slots__ = ("name", "agent", "endpoint", "protocol", "card", "tenant", "registered_by", "register_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    CARD_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_BY_FIELD_NUMBER: _ClassVar[int]
    REGISTER_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    agent: str
    endpoint: str
    protocol: AgentProtocol
    card: _agent_pb2.AgentCard
    tenant: str
    registered_by: str
    register_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., agent: _Optional[str] = ..., endpoint: _Optional[str] = ..., protocol: _Optional[_Union[AgentProtocol, str]] = ..., card: _Optional[_Union[_agent_pb2.AgentCard, _Mapping]] = ..., tenant: _Optional[str] = ..., registered_by: _Optional[str] = ..., register_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RegisterAgentRequest(_message.Message):
    __slots__ = ("endpoint", "protocol", "agent", "request_id")
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    endpoint: str
    protocol: AgentProtocol
    agent: str
    request_id: str
    def __init__(self, endpoint: _Optional[str] = ..., protocol: _Optional[_Union[AgentProtocol, str]] = ..., agent: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RegisterAgentResponse(_message.Message):
    __slots__ = ("agent", "telemetry_credential")
    AGENT_FIELD_NUMBER: _ClassVar[int]
    TELEMETRY_CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    agent: Agent
    telemetry_credential: str
    def __init__(self, agent: _Optional[_Union[Agent, _Mapping]] = ..., telemetry_credential: _Optional[str] = ...) -> None: ...

class GetAgentRequest(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: str
    def __init__(self, agent: _Optional[str] = ...) -> None: ...

class GetAgentResponse(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: Agent
    def __init__(self, agent: _Optional[_Union[Agent, _Mapping]] = ...) -> None: ...

class ListAgentsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAgentsResponse(_message.Message):
    __slots__ = ("agents", "next_page_token")
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    agents: _containers.RepeatedCompositeFieldContainer[Agent]
    next_page_token: str
    def __init__(self, agents: _Optional[_Iterable[_Union[Agent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeregisterAgentRequest(_message.Message):
    __slots__ = ("agent", "request_id")
    AGENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    agent: str
    request_id: str
    def __init__(self, agent: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeregisterAgentResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
