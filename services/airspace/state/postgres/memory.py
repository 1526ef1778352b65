"""Shared memory on PostgreSQL."""

from __future__ import annotations

from google.protobuf import struct_pb2

from airspace.state import paging
from airspace.state.pages import page_of_messages
from airspace.state.postgres.database import PostgresDatabase
from airspace.state.postgres.statements import Conn, execute, fetch_all, fetch_one
from airspace.state.rules.memory import (
    MemoryRow,
    check_deletable,
    is_live,
    memory_not_found,
    next_entry,
    retried_write,
)
from airspace.state.store.memory import MemoryStore
from airspace.state.store.page import Page
from airspace.state.v1 import state_pb2


class PostgresMemoryStore(MemoryStore):
    def __init__(self, database: PostgresDatabase):
        self._database = database

    async def get_memory(self, tenant: str, namespace: str, key: str) -> state_pb2.MemoryEntry:
        async def read(conn: Conn) -> state_pb2.MemoryEntry:
            row = await _memory_row(conn, tenant, namespace, key)
            if not is_live(row, self._database.now()):
                raise memory_not_found(namespace, key)
            return state_pb2.MemoryEntry.FromString(row[2])

        return await self._database.read(read)

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
        async def put(conn: Conn) -> state_pb2.MemoryEntry:
            now = self._database.now()
            row = await _memory_row(conn, tenant, namespace, key, lock=True)
            retried = retried_write(row, request_id)
            if retried is not None:
                return retried
            entry, expire = next_entry(
                row,
                namespace,
                key,
                value,
                expected_version=expected_version,
                ttl_seconds=ttl_seconds,
                now=now,
            )
            # A new key has no row to lock: of two first writes one collides on the
            # key, and its rerun checks its version against the winner's entry.
            sql = (
                "INSERT INTO memory (version, expire_us, request_id, data, tenant, namespace, key)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)"
                if row is None
                else "UPDATE memory SET version = %s, expire_us = %s, request_id = %s, data = %s"
                " WHERE tenant = %s AND namespace = %s AND key = %s"
            )
            await execute(
                conn,
                sql,
                (
                    entry.version,
                    expire,
                    request_id or None,
                    entry.SerializeToString(),
                    tenant,
                    namespace,
                    key,
                ),
            )
            return entry

        return await self._database.write(put)

    async def delete_memory(
        self, tenant: str, namespace: str, key: str, *, expected_version: int | None
    ) -> None:
        async def delete(conn: Conn) -> None:
            row = await _memory_row(conn, tenant, namespace, key, lock=True)
            check_deletable(row, namespace, key, expected_version, self._database.now())
            await execute(
                conn,
                "DELETE FROM memory WHERE tenant = %s AND namespace = %s AND key = %s",
                (tenant, namespace, key),
            )

        await self._database.write(delete)

    async def list_memory(
        self, tenant: str, namespace: str, *, key_prefix: str, page_size: int, page_token: str
    ) -> Page[state_pb2.MemoryEntry]:
        after = paging.decode(page_token, (str,))

        async def list_(conn: Conn) -> Page[state_pb2.MemoryEntry]:
            rows = await fetch_all(
                conn,
                "SELECT data, key FROM memory WHERE tenant = %s AND namespace = %s"
                " AND key > %s AND key >= %s AND starts_with(key, %s)"
                " AND (expire_us IS NULL OR expire_us > %s) ORDER BY key LIMIT %s",
                (
                    tenant,
                    namespace,
                    after[0] if after else "",
                    key_prefix,
                    key_prefix,
                    self._database.now(),
                    page_size + 1,
                ),
            )
            return page_of_messages(rows, page_size, state_pb2.MemoryEntry)

        return await self._database.read(list_)


async def delete_namespace(conn: Conn, tenant: str, namespace: str) -> None:
    """Drops every entry of a namespace (a pruned run's memory)."""
    await execute(
        conn, "DELETE FROM memory WHERE tenant = %s AND namespace = %s", (tenant, namespace)
    )


async def _memory_row(
    conn: Conn, tenant: str, namespace: str, key: str, *, lock: bool = False
) -> MemoryRow | None:
    return await fetch_one(
        conn,
        "SELECT version, expire_us, data, request_id FROM memory WHERE tenant = %s"
        " AND namespace = %s AND key = %s" + (" FOR UPDATE" if lock else ""),
        (tenant, namespace, key),
    )
