"""The audit log as the async service sees it: appends group-committed off the event loop,
signed heads published to the witness.

All store and witness work runs on one thread, so the chain head is read and moved by
one writer at a time. Batches that arrive while a commit is in flight share the next
transaction: one fsync for many decisions. Every commit signs its head in the same
transaction; the witness gets the latest head at most once per `publish_every`
seconds (0: after every commit), so it costs at most one fsync per interval, never
one per entry, and is off the appending callers' path.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from airspace.policy.audit import metrics
from airspace.policy.audit.chain import AuditEntry, AuditRecord
from airspace.policy.audit.signing import SignedHead
from airspace.policy.audit.store import Appended, AuditStore, Batch
from airspace.policy.audit.verification import Report
from airspace.policy.audit.witness import Witness, WitnessError

T = TypeVar("T")
# A batch waiting for its transaction, and the future its caller awaits.
Waiting = tuple[Batch, "asyncio.Future[Appended]"]
MAX_BATCH = 512
log = logging.getLogger("airspace.policy.audit")


class AuditLog:
    def __init__(self, store: AuditStore, witness: Witness, publish_every: float = 1.0):
        """`store` must trust its head already (see opening.open_store)."""
        self._store = store
        self._witness = witness
        self._publish_every = publish_every
        self._published: SignedHead | None = store.signed  # an incident's, published at start
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit")
        self._pending: list[Waiting] = []
        self._flusher: asyncio.Task | None = None
        self._publisher: asyncio.Task | None = None

    async def append(self, record: AuditRecord) -> AuditEntry:
        """Returns once the entry is durably committed."""
        [entry] = (await self.append_batch([record])).entries
        return entry

    async def append_batch(self, records: Sequence[AuditRecord], request_id: str = "") -> Appended:
        """Returns once every entry is durably committed; the records stay together and
        in order, in one transaction. With a `request_id` a batch is appended once: a retry
        gets the entries of the first (see store.Batch)."""
        future: asyncio.Future[Appended] = asyncio.get_running_loop().create_future()
        self._pending.append((Batch(records, request_id), future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def list(
        self, *, tenant: str | None, run_id: str = "", principal: str = "", after: int, limit: int
    ) -> list[AuditEntry]:
        return await self._run(
            lambda: self._store.list(
                tenant=tenant, run_id=run_id, principal=principal, after=after, limit=limit
            )
        )

    async def verify(self) -> Report:
        """The whole log against its signed heads and the witness, once the witness holds
        the latest head this service signed."""
        await self._run(self._publish)
        return await self._run(self._verify)

    async def close(self) -> None:
        if self._flusher is not None:
            await self._flusher
        if self._publisher is not None:
            self._publisher.cancel()
        await self._run(self._publish)
        await self._run(self._store.close)
        self._executor.shutdown()

    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    async def _flush(self) -> None:
        try:
            while self._pending:
                group = self._next_group()
                batches = [batch for batch, _ in group]
                try:
                    appended = await self._run(functools.partial(self._store.append, batches))
                except Exception as exc:
                    for _, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                written = sum(len(result.entries) for result in appended if not result.replayed)
                if written:  # only replays commit nothing
                    metrics.record_commit(written)
                for (_, future), result in zip(group, appended, strict=True):
                    if not future.done():  # a cancelled caller's entries still stand
                        future.set_result(result)
                if self._publisher is None:
                    self._publisher = asyncio.create_task(self._publish_soon())
        finally:
            self._flusher = None

    def _next_group(self) -> builtins.list[Waiting]:
        """The pending batches for one transaction: the first, and those after it while
        they all hold at most MAX_BATCH records."""
        taken, records = 1, len(self._pending[0][0].records)
        while taken < len(self._pending):
            records += len(self._pending[taken][0].records)
            if records > MAX_BATCH:
                break
            taken += 1
        group = self._pending[:taken]
        del self._pending[:taken]
        return group

    async def _publish_soon(self) -> None:
        try:
            await asyncio.sleep(self._publish_every)
            await self._run(self._publish)
        finally:
            self._publisher = None

    def _publish(self) -> None:
        # The head this service signed itself, never one read back from the database.
        head = self._store.signed
        if head is None or head == self._published:
            return
        try:
            self._witness.publish(head)
        except OSError:
            metrics.PUBLICATION_FAILURES.inc()
            log.exception("the audit witness could not record the head of entry %d", head.size)
            return
        metrics.PUBLICATIONS.inc()
        self._published = head

    def _verify(self) -> Report:
        try:
            witnessed, problem = self._witness.heads(), ""
        except WitnessError as exc:
            witnessed, problem = [], str(exc)
        return self._store.verify(witnessed, witness_name=self._witness.name, witness_error=problem)
