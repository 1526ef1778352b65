"""The audit log as the async service sees it: appends group-committed off the event loop.

All store work runs on one thread, so the chain head is read and moved by one
writer at a time. Appends that arrive while a commit is in flight share the next
transaction: one fsync for many decisions.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from airspace.policy.audit import metrics
from airspace.policy.audit.chain import AuditEntry, AuditRecord, VerifyResult
from airspace.policy.audit.store import AuditStore

T = TypeVar("T")
MAX_BATCH = 512


class AuditLog:
    def __init__(self, store: AuditStore):
        self._store = store
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit")
        self._pending: list[tuple[AuditRecord, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None

    async def append(self, record: AuditRecord) -> AuditEntry:
        """Returns once the entry is durably committed."""
        [entry] = await self.append_many([record])
        return entry

    async def append_many(self, records: Sequence[AuditRecord]) -> list[AuditEntry]:
        """Returns once every entry is durably committed; the records stay together and
        in order, in one transaction when they fit in one (MAX_BATCH)."""
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in records]
        self._pending.extend(zip(records, futures, strict=True))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        return list(await asyncio.gather(*futures))

    async def list(
        self, *, tenant: str | None, run_id: str = "", principal: str = "", after: int, limit: int
    ) -> list[AuditEntry]:
        return await self._run(
            lambda: self._store.list(
                tenant=tenant, run_id=run_id, principal=principal, after=after, limit=limit
            )
        )

    async def verify(self) -> VerifyResult:
        return await self._run(self._store.verify)

    async def close(self) -> None:
        if self._flusher is not None:
            await self._flusher
        await self._run(self._store.close)
        self._executor.shutdown()

    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
                records = [record for record, _ in batch]
                try:
                    entries = await self._run(functools.partial(self._store.append, records))
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                metrics.record_commit(len(entries))
                for (_, future), entry in zip(batch, entries, strict=True):
                    if not future.done():  # a cancelled caller's entry still stands
                        future.set_result(entry)
        finally:
            self._flusher = None
