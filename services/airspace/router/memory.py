"""Shared memory through the mesh: namespaced, versioned entries of the caller's tenant.

Agents reach memory through the gateway like any client (an API key of kind "agent"),
never by opening the database. Who may read or write is policy's call (memory.read,
memory.write); where an agent may do it is decided here, from the run and workflow
records, never from what the agent says: an agent uses the namespace of a run it
takes part in, or of a workflow that names it, and only reads the tenant's.
"""

from __future__ import annotations

import uuid

from airspace.mesh import errors, identity
from airspace.router.clients import MeshClients, call
from airspace.router.guard import Guard
from airspace.router.reasons import Reason
from airspace.state.v1 import state_pb2
from airspace.v1 import memory_pb2

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
    def __init__(self, clients: MeshClients, guard: Guard):
        self._clients = clients
        self._guard = guard

    async def get(self, request: memory_pb2.GetMemoryEntryRequest) -> state_pb2.MemoryEntry:
        caller = await self._authorize(READ, request.namespace, request.key)
        response = await call(
            self._clients.state.GetMemory,
            state_pb2.GetMemoryRequest(
                tenant=caller.tenant, namespace=request.namespace, key=request.key
            ),
        )
        return response.entry

    async def put(self, request: memory_pb2.PutMemoryEntryRequest) -> state_pb2.MemoryEntry:
        if not request.HasField("value"):
            raise errors.InvalidArgument("value is required", field="value")
        caller = await self._authorize(WRITE, request.namespace, request.key)
        response = await call(
            self._clients.state.PutMemory,
            state_pb2.PutMemoryRequest(
                tenant=caller.tenant,
                namespace=request.namespace,
                key=request.key,
                value=request.value,
                expected_version=(
                    request.expected_version if request.HasField("expected_version") else None
                ),
                ttl=request.ttl if request.HasField("ttl") else None,
                # Our own retries of this write are recognized even without a client id.
                request_id=request.request_id or uuid.uuid4().hex,
            ),
        )
        return response.entry

    async def delete(self, request: memory_pb2.DeleteMemoryEntryRequest) -> None:
        caller = await self._authorize(WRITE, request.namespace, request.key)
        await call(
            self._clients.state.DeleteMemory,
            state_pb2.DeleteMemoryRequest(
                tenant=caller.tenant,
                namespace=request.namespace,
                key=request.key,
                expected_version=(
                    request.expected_version if request.HasField("expected_version") else None
                ),
            ),
        )

    async def list(
        self, request: memory_pb2.ListMemoryEntriesRequest
    ) -> state_pb2.ListMemoryResponse:
        caller = await self._authorize(READ, request.namespace)
        return await call(
            self._clients.state.ListMemory,
            state_pb2.ListMemoryRequest(
                tenant=caller.tenant,
                namespace=request.namespace,
                key_prefix=request.key_prefix,
                page_size=request.page_size,
                page_token=request.page_token,
            ),
        )

    async def _authorize(self, checkpoint: str, namespace: str, key: str | None = None):
        kind, name = scope(namespace)
        if key is not None and not key:
            raise errors.InvalidArgument("key is required", field="key")
        if key and len(key) > MAX_KEY_LENGTH:
            raise errors.InvalidArgument(
                f"key is longer than {MAX_KEY_LENGTH} characters", field="key"
            )
        caller = await self._guard.authorize(checkpoint, "memory", namespace)
        if kind == "run":
            run = await self._run(caller.tenant, name)  # NOT_FOUND for another tenant's run
            if caller.kind == "agent":
                _require_member(caller, run.agent_versions, f"run {name}")
        elif kind == "workflow" and caller.kind == "agent":
            workflow = await self._workflow(caller.tenant, name)
            _require_member(caller, workflow.agents, f"workflow {name}")
        elif kind == "tenant" and caller.kind == "agent" and checkpoint == WRITE:
            raise errors.PermissionDenied(
                "agents may read the tenant's memory but not write it", reason=Reason.MEMORY_SCOPE
            )
        return caller

    async def _run(self, tenant: str, run_id: str):
        response = await call(
            self._clients.state.GetRun, state_pb2.GetRunRequest(tenant=tenant, run_id=run_id)
        )
        return response.run

    async def _workflow(self, tenant: str, name: str):
        response = await call(
            self._clients.state.GetWorkflow,
            state_pb2.GetWorkflowRequest(tenant=tenant, workflow=name),
        )
        return response.workflow


def _require_member(caller: identity.Identity, agents, where: str) -> None:
    agent = caller.principal.removeprefix(_AGENT_PREFIX)
    if not caller.principal.startswith(_AGENT_PREFIX) or agent not in agents:
        raise errors.PermissionDenied(
            f"agent {agent!r} takes no part in {where}", reason=Reason.MEMORY_SCOPE
        )
