"""Registry changes on PostgreSQL: those of every store sharing the schema, by
LISTEN/NOTIFY (notifications.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from airspace.state.postgres.database import PostgresDatabase
from airspace.state.store.registry_changes import RegistryChangeFeed
from airspace.state.v1 import state_pb2


class PostgresRegistryChanges(RegistryChangeFeed):
    def __init__(self, database: PostgresDatabase):
        self._database = database

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[state_pb2.RegistryChange]]:
        await self._database.ensure_open()  # listening from here on
        async with self._database.notifications.subscribe() as changes:
            yield changes
