"""Shared memory: namespaced key/value entries with versions for compare-and-set."""

from __future__ import annotations

from abc import ABC, abstractmethod

from google.protobuf import struct_pb2

from airspace.state.store.page import Page
from airspace.state.v1 import state_pb2


class MemoryStore(ABC):
    @abstractmethod
    async def get_memory(self, tenant: str, namespace: str, key: str) -> state_pb2.MemoryEntry: ...

    @abstractmethod
    async def put_memory(
        self,
        tenant: str,
        namespace: str,
        key: str,
        value: struct_pb2.Value,
        *,
        expected_version: int | None,
        ttl_seconds: float | None,
        request_id: str = "",
    ) -> state_pb2.MemoryEntry:
        """A request_id equal to the entry's last write returns that entry (a retry)."""

    @abstractmethod
    async def delete_memory(
        self, tenant: str, namespace: str, key: str, *, expected_version: int | None
    ) -> None: ...

    @abstractmethod
    async def list_memory(
        self, tenant: str, namespace: str, *, key_prefix: str, page_size: int, page_token: str
    ) -> Page[state_pb2.MemoryEntry]: ...
