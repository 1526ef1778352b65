"""Shared memory through the mesh: namespaced, versioned entries of the caller's tenant.

Agents reach memory through the gateway like any client (an API key of kind "agent"),
never by opening the database. Who may read or write is policy's call (memory.read,
memory.write); where an agent may do it is decided here, from the run and workflow
records, never from what the agent says: an agent uses the namespace of a run it
takes part in, or of a workflow that names it, and only reads the tenant's.
"""

from __future__ import annotations

import uuid
from collections.abc import Container

from airspace.mesh import errors, identity
from airspace.mesh.reasons import Reason
from airspace.router.commands import ListMemory, MemoryKey, PutMemory
from airspace.router.guard import Guard
from airspace.router.repositories import MemoryWrite, Page, Repositories
from airspace.state.v1 import state_pb2

READ, WRITE = "memory.read", "memory.write"
MAX_KEY_LENGTH = 256
_AGENT_PREFIX = "agent:"


def scope(namespace: str) -> tuple[str, str]:
    """("tenant", "") or ("workflow" | "run", name) of a namespace."""
    kind, _, name = namespace.partition("/")
    if (kind == "tenant" and not name) or (kind in ("workflow", "run") and name):
        return kind, name
    raise errors.InvalidArgument(
        'namespace must be "tenant", "workflow/{workflow}" or "run/{run_id}"', field="namespace"
    )


class Memory:
    def __init__(self, repositories: Repositories, guard: Guard):
        self._memory = repositories.memory
        self._runs = repositories.runs
        self._workflows = repositories.workflows
        self._guard = guard

    async def get(self, where: MemoryKey) -> state_pb2.MemoryEntry:
        caller = await self._authorize(READ, where.namespace, where.key)
        return await self._memory.get(caller.tenant, where.namespace, where.key)

    async def put(self, command: PutMemory) -> state_pb2.MemoryEntry:
        if command.value is None:
            raise errors.InvalidArgument("value is required", field="value")
        where = command.where
        caller = await self._authorize(WRITE, where.namespace, where.key)
        write = MemoryWrite(
            value=command.value,
            expected_version=command.expected_version,
            ttl_seconds=command.ttl_seconds,
            # Our own retries of this write are recognized even without a client id.
            request_id=command.request_id or uuid.uuid4().hex,
        )
        return await self._memory.put(caller.tenant, where.namespace, where.key, write)

    async def delete(self, where: MemoryKey, expected_version: int | None) -> None:
        caller = await self._authorize(WRITE, where.namespace, where.key)
        await self._memory.delete(caller.tenant, where.namespace, where.key, expected_version)

    async def list(self, query: ListMemory) -> Page[state_pb2.MemoryEntry]:
        caller = await self._authorize(READ, query.namespace)
        return await self._memory.list(caller.tenant, query.namespace, query.key_prefix, query.page)

    async def _authorize(
        self, checkpoint: str, namespace: str, key: str | None = None
    ) -> identity.Identity:
        kind, name = scope(namespace)
        if key is not None and not key:
            raise errors.InvalidArgument("key is required", field="key")
        if key and len(key) > MAX_KEY_LENGTH:
            raise errors.InvalidArgument(
                f"key is longer than {MAX_KEY_LENGTH} characters", field="key"
            )
        caller = await self._guard.authorize(checkpoint, "memory", namespace)
        if kind == "run":
            run = await self._runs.get(caller.tenant, name)  # NOT_FOUND for another tenant's run
            if caller.kind == "agent":
                _require_member(caller, run.agent_versions, f"run {name}")
        elif kind == "workflow" and caller.kind == "agent":
            workflow = await self._workflows.get(caller.tenant, name)
            _require_member(caller, workflow.agents, f"workflow {name}")
        elif kind == "tenant" and caller.kind == "agent" and checkpoint == WRITE:
            raise errors.PermissionDenied(
                "agents may read the tenant's memory but not write it", reason=Reason.MEMORY_SCOPE
            )
        return caller


def _require_member(caller: identity.Identity, agents: Container[str], where: str) -> None:
    agent = caller.principal.removeprefix(_AGENT_PREFIX)
    if not caller.principal.startswith(_AGENT_PREFIX) or agent not in agents:
        raise errors.PermissionDenied(
            f"agent {agent!r} takes no part in {where}", reason=Reason.MEMORY_SCOPE
        )
