"""airspace.v1.MemoryService and AdminService: proto to domain and back, nothing else."""

from __future__ import annotations

import grpc

from airspace.mesh.server import MeshServer
from airspace.router import converters
from airspace.router.guard import Guard
from airspace.router.memory import Memory
from airspace.router.repositories import Repositories
from airspace.router.retention import Retention
from airspace.state.v1 import state_pb2
from airspace.v1 import admin_pb2, admin_pb2_grpc, memory_pb2, memory_pb2_grpc


def _public(entry: state_pb2.MemoryEntry) -> memory_pb2.MemoryEntry:
    public = memory_pb2.MemoryEntry(
        namespace=entry.namespace, key=entry.key, value=entry.value, version=entry.version
    )
    if entry.HasField("expire_time"):
        public.expire_time.CopyFrom(entry.expire_time)
    public.update_time.CopyFrom(entry.update_time)
    return public


class MemoryServicer(memory_pb2_grpc.MemoryServiceServicer):
    def __init__(self, memory: Memory):
        self._memory = memory

    async def GetMemoryEntry(
        self,
        request: memory_pb2.GetMemoryEntryRequest,
        context: grpc.aio.ServicerContext[
            memory_pb2.GetMemoryEntryRequest, memory_pb2.GetMemoryEntryResponse
        ],
    ) -> memory_pb2.GetMemoryEntryResponse:
        return memory_pb2.GetMemoryEntryResponse(
            entry=_public(await self._memory.get(converters.memory_key(request)))
        )

    async def PutMemoryEntry(
        self,
        request: memory_pb2.PutMemoryEntryRequest,
        context: grpc.aio.ServicerContext[
            memory_pb2.PutMemoryEntryRequest, memory_pb2.PutMemoryEntryResponse
        ],
    ) -> memory_pb2.PutMemoryEntryResponse:
        return memory_pb2.PutMemoryEntryResponse(
            entry=_public(await self._memory.put(converters.put_memory(request)))
        )

    async def DeleteMemoryEntry(
        self,
        request: memory_pb2.DeleteMemoryEntryRequest,
        context: grpc.aio.ServicerContext[
            memory_pb2.DeleteMemoryEntryRequest, memory_pb2.DeleteMemoryEntryResponse
        ],
    ) -> memory_pb2.DeleteMemoryEntryResponse:
        expected = converters.expected_version(request)
        await self._memory.delete(converters.memory_key(request), expected)
        return memory_pb2.DeleteMemoryEntryResponse()

    async def ListMemoryEntries(
        self,
        request: memory_pb2.ListMemoryEntriesRequest,
        context: grpc.aio.ServicerContext[
            memory_pb2.ListMemoryEntriesRequest, memory_pb2.ListMemoryEntriesResponse
        ],
    ) -> memory_pb2.ListMemoryEntriesResponse:
        page = await self._memory.list(converters.list_memory(request))
        return memory_pb2.ListMemoryEntriesResponse(
            entries=[_public(entry) for entry in page.items],
            next_page_token=page.next_token,
        )


class AdminServicer(admin_pb2_grpc.AdminServiceServicer):
    def __init__(self, retention: Retention):
        self._retention = retention

    async def PruneRuns(
        self,
        request: admin_pb2.PruneRunsRequest,
        context: grpc.aio.ServicerContext[admin_pb2.PruneRunsRequest, admin_pb2.PruneRunsResponse],
    ) -> admin_pb2.PruneRunsResponse:
        pruned = await self._retention.prune(converters.prune_runs(request))
        return admin_pb2.PruneRunsResponse(
            pruned_runs=pruned.runs,
            deleted_events=pruned.events,
            deleted_journal_entries=pruned.journal_entries,
            more=pruned.more,
        )


def register(srv: MeshServer, repositories: Repositories, guard: Guard) -> None:
    """Adds the memory and admin services to the router's server."""
    srv.add_service(
        memory_pb2_grpc.add_MemoryServiceServicer_to_server,
        MemoryServicer(Memory(repositories, guard)),
    )
    srv.add_service(
        admin_pb2_grpc.add_AdminServiceServicer_to_server,
        AdminServicer(Retention(repositories.runs, guard)),
    )
