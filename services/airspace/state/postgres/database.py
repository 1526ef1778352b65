"""The one PostgreSQL database the aggregate stores share: its connection pool, its
listening connection, its clock, and the transactions of its operations.

Writes queued together commit together (group commit, as on SQLite): a writer takes
every write waiting and runs them in one transaction, one commit (one WAL flush) for
all. When one of them fails, nothing of that transaction stands and each write runs
again in a transaction of its own, so a refused write is refused alone and the rest
commit; a write is rerun anyway when it lost a race (a write is a function of its
inputs and the database, so running it again is safe)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar, cast

import psycopg
import psycopg_pool

from airspace.mesh import errors
from airspace.state import records
from airspace.state.postgres import migrations
from airspace.state.postgres.notifications import Notifications
from airspace.state.postgres.statements import Conn
from airspace.state.run_signals import RunSignals
from airspace.state.settled import settle

T = TypeVar("T")
Operation = Callable[[Conn], Awaitable[T]]
# A queued write and the future its caller awaits.
Queued = tuple[Operation[Any], "asyncio.Future[Any]"]

# Writes waiting together are committed together, up to this many per transaction.
MAX_BATCH = 256

# A write that lost a race (the same key inserted, a deadlock) is rerun this often at most.
_ATTEMPTS = 4
_RACES = (
    psycopg.errors.UniqueViolation,
    psycopg.errors.DeadlockDetected,
    psycopg.errors.SerializationFailure,
)


class PostgresDatabase:
    def __init__(self, url: str, *, pool_size: int, clock: Callable[[], float]):
        migrations.apply_migrations(url)
        self._clock = clock
        self.signals = RunSignals()
        # Opened on first use, inside the event loop that serves the store.
        self._pool = psycopg_pool.AsyncConnectionPool(
            url, min_size=1, max_size=pool_size, open=False, name="state"
        )
        self.notifications = Notifications(url, self.signals)
        self._opening = asyncio.Lock()
        self._open = False
        self._closed = False
        self._queued: list[Queued] = []
        # Writers at once, each with a connection: the rest of the pool serves reads.
        self._max_writers = max(1, pool_size // 2)
        # The writers running (the loop holds weak references to tasks only).
        self._writers: set[asyncio.Task[None]] = set()

    def now(self) -> int:
        """Microseconds since the epoch."""
        return records.micros(self._clock())

    async def write(self, operation: Operation[T]) -> T:
        """The operation's result once it committed, with the writes queued beside it."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queued.append((operation, future))
        if len(self._writers) < self._max_writers:
            # A context of its own: the writer commits for every caller it takes.
            self._writers.add(
                asyncio.get_running_loop().create_task(
                    self._write_queued(), context=contextvars.Context()
                )
            )
        return await future

    async def _write_queued(self) -> None:
        try:
            while self._queued:
                batch = self._queued[:MAX_BATCH]
                del self._queued[:MAX_BATCH]
                await self._commit(batch)
        finally:
            # Gone from the count as its queue check fails, before another write can queue.
            self._writers.discard(cast(asyncio.Task[None], asyncio.current_task()))

    async def _commit(self, batch: list[Queued]) -> None:
        if len(batch) > 1 and await self._committed_together(batch):
            return
        for operation, future in batch:
            try:
                result = await self._write_alone(operation)
            except Exception as exc:
                settle(future, None, exc)
            else:
                settle(future, result, None)

    async def _committed_together(self, batch: list[Queued]) -> bool:
        """Whether the batch's writes were settled in one transaction: committed, or all
        refused as the database is unavailable; False when one write failed."""
        error: errors.Unavailable | None = None
        try:
            async with self._transaction() as conn:
                results = [await operation(conn) for operation, _ in batch]
        except errors.Unavailable as exc:  # the database: no write of the batch can go
            results, error = [None] * len(batch), exc
        except Exception:
            return False
        for (_, future), result in zip(batch, results, strict=True):
            settle(future, result, error)
        return True

    async def _write_alone(self, operation: Operation[T]) -> T:
        """Runs the operation in a transaction of its own, again when it lost a race."""
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                async with self._transaction() as conn:
                    return await operation(conn)
            except _RACES:
                if attempt == _ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    async def read(self, operation: Operation[T]) -> T:
        """Runs the operation in one read-only snapshot."""
        async with self._transaction() as conn:
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return await operation(conn)

    async def close(self) -> None:
        """Lets the operations under way finish, then closes every connection."""
        self._closed = True
        async with self._opening:
            if self._open:
                await self.notifications.close()
                await self._pool.close()
                self._open = False

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Conn]:
        try:
            await self.ensure_open()
            # Leaving the pool's block commits, or rolls back on an exception.
            async with self._pool.connection() as conn:
                yield conn
        except _RACES:
            raise
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
            raise errors.Unavailable("the state database is unavailable", retry_after=1.0) from exc

    async def ensure_open(self) -> None:
        """Opens the pool and starts listening, on the first operation."""
        if self._closed:
            raise errors.Unavailable("the state store is shutting down", retry_after=1.0)
        if self._open:
            return
        async with self._opening:
            if not self._open and not self._closed:
                await self._pool.open(wait=True)
                # Listening before the first read: a watcher that read, then waits,
                # is woken by every write committed after its read.
                await self.notifications.start()
                self._open = True
