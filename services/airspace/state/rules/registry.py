"""Workflow versions and agent registrations: stamping and not-found refusals."""

from __future__ import annotations

from airspace.mesh import errors
from airspace.state import records
from airspace.v1 import agent_registry_pb2, workflow_pb2


def etag_of(workflow: workflow_pb2.Workflow) -> str:
    return workflow.etag or records.canonical_sha256(workflow.spec)


def new_version(
    workflow: workflow_pb2.Workflow, version: int, etag: str, now: int
) -> workflow_pb2.Workflow:
    stored = workflow_pb2.Workflow()
    stored.CopyFrom(workflow)
    stored.name = f"workflows/{workflow.workflow}/versions/{version}"
    stored.version = version
    stored.etag = etag
    stored.create_time.CopyFrom(records.timestamp(now))
    return stored


def workflow_not_found(name: str, version: int = 0) -> errors.NotFound:
    which = f"version {version} of workflow" if version else "workflow"
    return errors.NotFound(f"{which} {name!r} not found")


def registered(agent: agent_registry_pb2.Agent, now: int) -> agent_registry_pb2.Agent:
    stored = agent_registry_pb2.Agent()
    stored.CopyFrom(agent)
    stored.name = f"agents/{agent.agent}"
    stored.register_time.CopyFrom(records.timestamp(now))
    return stored


def agent_not_found(name: str) -> errors.NotFound:
    return errors.NotFound(f"agent {name!r} not found")


def revision(agent: agent_registry_pb2.Agent) -> int:
    """What tells one registration of an agent from the next: its time."""
    return agent.register_time.ToMicroseconds()
