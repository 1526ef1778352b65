"""Shared memory on SQLite."""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2

from airspace.mesh import errors
from airspace.state import paging, records
from airspace.state.sqlite.access import Db
from airspace.state.sqlite.database import SqliteDatabase
from airspace.state.sqlite.pages import page_of_messages
from airspace.state.store.memory import MemoryStore
from airspace.state.store.page import Page
from airspace.state.v1 import state_pb2


class SqliteMemoryStore(MemoryStore):
    def __init__(self, database: SqliteDatabase):
        self._database = database

    async def get_memory(self, tenant: str, namespace: str, key: str) -> state_pb2.MemoryEntry:
        def read(db: Db) -> state_pb2.MemoryEntry:
            row = _memory_row(db, tenant, namespace, key)
            if not _is_live(row, self._database.now()):
                raise _memory_not_found(namespace, key)
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
            if request_id and row is not None and row[3] == request_id:
                return state_pb2.MemoryEntry.FromString(row[2])  # a retry of the last write
            _check_memory_version(
                namespace, key, row[0] if _is_live(row, now) else 0, expected_version
            )
            # Versions keep counting past an expiry, so a stale compare-and-set
            # against a version from before the expiry can never match again.
            entry = state_pb2.MemoryEntry(
                namespace=namespace, key=key, version=(row[0] if row else 0) + 1
            )
            entry.value.CopyFrom(value)
            entry.update_time.CopyFrom(records.timestamp(now))
            expire = None
            if ttl_seconds is not None:
                expire = now + records.micros(ttl_seconds)
                entry.expire_time.CopyFrom(records.timestamp(expire))
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
            if not _is_live(row, self._database.now()):
                raise _memory_not_found(namespace, key)
            _check_memory_version(namespace, key, row[0], expected_version)
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


def _memory_row(db: Db, tenant: str, namespace: str, key: str) -> Any:
    """(version, expire_us, data, request_id) of a stored entry, expired or not, or None."""
    return db.execute(
        "SELECT version, expire_us, data, request_id FROM memory WHERE tenant = ?"
        " AND namespace = ? AND key = ?",
        (tenant, namespace, key),
    ).fetchone()


def _is_live(row: Any, now: int) -> bool:
    """Expired entries behave as absent."""
    return row is not None and (row[1] is None or row[1] > now)


def _check_memory_version(namespace: str, key: str, current: int, expected: int | None) -> None:
    if expected is not None and expected != current:
        raise errors.Aborted(
            f"memory {namespace}/{key} is at version {current}, not {expected}",
            reason="VERSION_MISMATCH",
            metadata={"version": str(current)},
        )


def _memory_not_found(namespace: str, key: str) -> errors.NotFound:
    return errors.NotFound(f"memory key {key!r} not found in namespace {namespace!r}")
