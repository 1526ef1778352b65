"""Blocking SQLite work off the event loop: one group-committing writer thread and a
pool of reader threads, each with its own connection."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import sqlite_utils

from airspace.mesh import errors
from airspace.state import metrics
from airspace.state.settled import settle

T = TypeVar("T")
Db = sqlite_utils.Database
Operation = Callable[[Db], T]

# Writes waiting together are committed together, up to this many per transaction.
MAX_BATCH = 256


@dataclasses.dataclass
class _Job:
    operation: Operation
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop
    # Called with the result once the write committed, whether or not its caller waits.
    committed: Callable[[Any], None] | None = None


def _settle(job: _Job, result: Any, error: BaseException | None) -> None:
    if error is None and job.committed is not None:
        job.committed(result)
    settle(job.future, result, error)


class BatchWriter:
    """Runs write operations on one connection in one thread. Operations queued
    while a commit is in progress share the next transaction (group commit): one
    fsync for many writes. Each runs in its own savepoint, so one that raises is
    undone alone and its caller gets the exception, while the rest commit."""

    def __init__(self, connect: Callable[[], sqlite_utils.Database]):
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        metrics.WRITE_QUEUE_DEPTH.set_function(self._queue.qsize)
        self._closed = False
        self._thread = threading.Thread(
            target=self._run, args=(connect,), name="state-writer", daemon=True
        )
        self._thread.start()

    async def submit(
        self, operation: Operation[T], committed: Callable[[T], None] | None = None
    ) -> T:
        """The operation's result once committed; `committed` is called with it then,
        on the caller's loop, even when the caller was cancelled meanwhile."""
        if self._closed:
            raise errors.Unavailable("the state store is shutting down", retry_after=1.0)
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(_Job(operation, future, loop, committed))
        return await future

    async def close(self) -> None:
        """Finishes the queued writes, then stops the thread."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
        await asyncio.to_thread(self._thread.join)

    def _run(self, connect: Callable[[], sqlite_utils.Database]) -> None:
        db = connect()
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch, stop = [first], False
                while len(batch) < MAX_BATCH:
                    try:
                        job = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:
                        stop = True
                        break
                    batch.append(job)
                started = time.perf_counter()
                self._commit(db, batch)
                metrics.record_commit(len(batch), time.perf_counter() - started)
                if stop:
                    return
        finally:
            db.conn.close()

    def _commit(self, db: sqlite_utils.Database, batch: list[_Job]) -> None:
        try:
            db.conn.execute("BEGIN IMMEDIATE")
            outcomes = [_apply(db, job.operation) for job in batch]
            db.conn.execute("COMMIT")
            metrics.COMMITS.inc()
        except Exception as exc:  # the transaction itself failed: none of the batch is durable
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            failure = _storage_error(exc)
            outcomes = [(None, failure)] * len(batch)
        for job, (result, error) in zip(batch, outcomes, strict=True):
            # RuntimeError: the caller's event loop is closed; nobody is waiting.
            with contextlib.suppress(RuntimeError):
                job.loop.call_soon_threadsafe(_settle, job, result, error)


def _apply(db: sqlite_utils.Database, operation: Operation) -> tuple[Any, Exception | None]:
    db.conn.execute("SAVEPOINT operation")
    try:
        result = operation(db)
    except Exception as exc:
        db.conn.execute("ROLLBACK TO operation")
        db.conn.execute("RELEASE operation")
        return None, exc
    db.conn.execute("RELEASE operation")
    return result, None


def _storage_error(exc: Exception) -> Exception:
    # A busy or locked database (another process writing) is worth a retry.
    if isinstance(exc, sqlite3.OperationalError):
        unavailable = errors.Unavailable("the state store is busy", retry_after=1.0)
        unavailable.__cause__ = exc
        return unavailable
    return exc


class ReaderPool:
    """Runs read operations in worker threads, each on its own connection and inside
    one read transaction, so a multi-query read sees one consistent snapshot."""

    def __init__(self, connect: Callable[[], sqlite_utils.Database], size: int):
        self._connect = connect
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="state-reader")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite_utils.Database] = []

    async def run(self, operation: Operation[T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, operation)

    def _call(self, operation: Operation[T]) -> T:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
            with self._lock:
                self._connections.append(db)
        db.conn.execute("BEGIN")
        try:
            return operation(db)
        finally:
            db.conn.execute("COMMIT")

    async def close(self) -> None:
        await asyncio.to_thread(self._executor.shutdown, wait=True)
        with self._lock:
            for db in self._connections:
                db.conn.close()
            self._connections.clear()
