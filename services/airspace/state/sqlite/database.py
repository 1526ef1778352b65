"""The one SQLite database the aggregate stores share: its writer, readers, clock and
the announcements of its registry changes."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import TypeVar

from airspace.state import records
from airspace.state.registry_changes import RegistryChanges
from airspace.state.sqlite import migrations
from airspace.state.sqlite.access import BatchWriter, Operation, ReaderPool
from airspace.state.sqlite.connection import connect

T = TypeVar("T")


class SqliteDatabase:
    def __init__(
        self, path: str | pathlib.Path, *, read_connections: int, clock: Callable[[], float]
    ):
        migrations.apply_migrations(path)
        self._clock = clock
        self._writer = BatchWriter(lambda: connect(path))
        self._readers = ReaderPool(lambda: connect(path), read_connections)
        # Announced by this process, which serves the database file: writes of other
        # processes to the file go unannounced.
        self.registry_changes = RegistryChanges()

    def now(self) -> int:
        """Microseconds since the epoch."""
        return records.micros(self._clock())

    async def write(
        self, operation: Operation[T], committed: Callable[[T], None] | None = None
    ) -> T:
        """Runs the operation in the writer's next group commit; `committed` is called
        with its result once it committed, even when the caller was cancelled meanwhile."""
        return await self._writer.submit(operation, committed)

    async def read(self, operation: Operation[T]) -> T:
        """Runs the operation in one read transaction."""
        return await self._readers.run(operation)

    async def close(self) -> None:
        self.registry_changes.interrupt()
        await self._writer.close()
        await self._readers.close()
