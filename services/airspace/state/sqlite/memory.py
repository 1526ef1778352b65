"""Shared memory on SQLite."""

from __future__ import annotations

from google.protobuf import struct_pb2

from airspace.state import paging
from airspace.state.pages import page_of_messages
from airspace.state.rules.memory import (
    MemoryRow,
    check_deletable,
    is_live,
    memory_not_found,
    next_entry,
    retried_write,
)
from airspace.state.sqlite.access import Db
from airspace.state.sqlite.database import SqliteDatabase
from airspace.state.store.memory import MemoryStore
from airspace.state.store.page import Page
from airspace.state.v1 import state_pb2


class SqliteMemoryStore(MemoryStore):
    def __init__(self, database: SqliteDatabase):
        self._database = database

    async def get_memory(self, tenant: str, namespace: str, key: str) -> state_pb2.MemoryEntry:
        def read(db: Db) -> state_pb2.MemoryEntry:
            row = _memory_row(db, tenant, namespace, key)
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
        def put(db: Db) -> state_pb2.MemoryEntry:
            now = self._database.now()
            row = _memory_row(db, tenant, namespace, key)
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
            db.execute(
                "INSERT OR REPLACE INTO memory (tenant, namespace, key, version, expire_us,"
                " request_id, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    tenant,
                    namespace,
                    key,
                    entry.version,
                    expire,
                    request_id or None,
                    entry.SerializeToString(),
                ),
            )
            return entry

        return await self._database.write(put)

    async def delete_memory(
        self, tenant: str, namespace: str, key: str, *, expected_version: int | None
    ) -> None:
        def delete(db: Db) -> None:
            row = _memory_row(db, tenant, namespace, key)
            check_deletable(row, namespace, key, expected_version, self._database.now())
            db.execute(
                "DELETE FROM memory WHERE tenant = ? AND namespace = ? AND key = ?",
                (tenant, namespace, key),
            )

        await self._database.write(delete)

    async def list_memory(
        self, tenant: str, namespace: str, *, key_prefix: str, page_size: int, page_token: str
    ) -> Page[state_pb2.MemoryEntry]:
        after = paging.decode(page_token, (str,))

        def list_(db: Db) -> Page[state_pb2.MemoryEntry]:
            rows = db.execute(
                "SELECT data, key FROM memory WHERE tenant = ? AND namespace = ? AND key > ?"
                " AND key >= ? AND substr(key, 1, ?) = ?"
                " AND (expire_us IS NULL OR expire_us > ?) ORDER BY key LIMIT ?",
                (
                    tenant,
                    namespace,
                    after[0] if after else "",
                    key_prefix,
                    len(key_prefix),
                    key_prefix,
                    self._database.now(),
                    page_size + 1,
                ),
            ).fetchall()
            return page_of_messages(rows, page_size, state_pb2.MemoryEntry)

        return await self._database.read(list_)


def delete_namespace(db: Db, tenant: str, namespace: str) -> None:
    """Drops every entry of a namespace (a pruned run's memory)."""
    db.execute("DELETE FROM memory WHERE tenant = ? AND namespace = ?", (tenant, namespace))


def _memory_row(db: Db, tenant: str, namespace: str, key: str) -> MemoryRow | None:
    return db.execute(
        "SELECT version, expire_us, data, request_id FROM memory WHERE tenant = ?"
        " AND namespace = ? AND key = ?",
        (tenant, namespace, key),
    ).fetchone()
