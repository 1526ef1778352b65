"""What callers ask of the router's domain, free of the wire format.

Servicers build these from public requests (see converters.py); the domain validates
them and answers with the contract's resources (a Run, a Workflow …).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from google.protobuf import struct_pb2

from airspace.router.repositories import PageRequest
from airspace.v1 import agent_registry_pb2, approval_pb2, run_pb2


@dataclasses.dataclass(frozen=True)
class StartRun:
    workflow: str
    workflow_version: int = 0  # 0: the latest
    input: dict[str, Any] = dataclasses.field(default_factory=dict)
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    request_id: str = ""

    def digest(self) -> str:
        """What makes two requests one (its request_id aside), hashed: the same request_id
        sent with another workflow, version, input or labels is another request."""
        what = [self.workflow, self.workflow_version, self.input, self.labels]
        canonical = json.dumps(what, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class ListRuns:
    page: PageRequest
    workflow: str = ""
    state: run_pb2.RunState = run_pb2.RUN_STATE_UNSPECIFIED


@dataclasses.dataclass(frozen=True)
class CancelRun:
    run_id: str
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class CreateWorkflow:
    """A workflow document as YAML/JSON text (`source`) or as data (`document`)."""

    source: str | None = None
    document: dict[str, Any] | None = None
    validate_only: bool = False


@dataclasses.dataclass(frozen=True)
class GetWorkflow:
    workflow: str
    version: int = 0


@dataclasses.dataclass(frozen=True)
class RegisterAgent:
    endpoint: str
    agent: str = ""  # the name the endpoint must serve, when given
    protocol: agent_registry_pb2.AgentProtocol = agent_registry_pb2.AGENT_PROTOCOL_UNSPECIFIED


@dataclasses.dataclass(frozen=True)
class ListApprovals:
    page: PageRequest
    state: approval_pb2.ApprovalState = approval_pb2.APPROVAL_STATE_UNSPECIFIED
    run_id: str = ""


@dataclasses.dataclass(frozen=True)
class DecideApproval:
    approval_id: str
    outcome: run_pb2.ApprovalOutcome
    comment: str = ""
    edited_payload: struct_pb2.Struct | None = None
    payload_hash: str = ""  # the payload the decider saw, when they say so


@dataclasses.dataclass(frozen=True)
class MemoryKey:
    namespace: str
    key: str


@dataclasses.dataclass(frozen=True)
class PutMemory:
    where: MemoryKey
    value: struct_pb2.Value | None
    expected_version: int | None = None
    ttl_seconds: float | None = None
    request_id: str = ""


@dataclasses.dataclass(frozen=True)
class ListMemory:
    namespace: str
    key_prefix: str
    page: PageRequest


@dataclasses.dataclass(frozen=True)
class PruneRuns:
    finished_before_micros: int | None
    validate_only: bool = False
    limit: int = 0
