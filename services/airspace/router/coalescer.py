"""Requests of concurrent callers coalesced into batch calls.

A request is sent at once, with everything queued beside it; while a batch is in
flight the next one fills up, so callers in flight share round trips and no caller
waits for a timer. Each caller gets its own outcome, or the batch's failure.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from airspace.mesh import errors
from airspace.router import metrics

log = logging.getLogger("airspace.router")
Item = TypeVar("Item")
Outcome = TypeVar("Outcome")
# Sends one batch: one outcome per item, in order, or a domain error the item raises.
Send = Callable[[list[Item]], Awaitable[Sequence["Outcome | errors.MeshError"]]]


class Coalescer(Generic[Item, Outcome]):
    def __init__(
        self,
        send: Send[Item, Outcome],
        what: str,
        batch: str,
        *,
        max_items: int,
        max_bytes: int = 0,
        size: Callable[[Item], int] | None = None,
    ):
        """`what` names the batches' destination in errors, `batch` their sizes' metric
        label; a batch holds at most `max_items`, and items of at most `max_bytes` (by
        `size`) unless one alone is more."""
        self._send = send
        self._what = what
        self._batch = batch
        self._max_items = max_items
        self._max_bytes = max_bytes
        self._size = size
        self._pending: list[tuple[Item, int, asyncio.Future[Outcome]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Outcome:
        """The item's outcome once its batch is answered; raises its domain error."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        size = self._size(item) if self._size is not None else 0
        self._pending.append((item, size, future))
        if self._flusher is None:
            # A context of its own: the batch serves every caller in it, so it takes none
            # of the first one's served deadline, trace context or log fields.
            self._flusher = asyncio.get_running_loop().create_task(
                self._flush(), context=contextvars.Context()
            )
        return await future

    async def close(self) -> None:
        """Sends what is queued."""
        if self._flusher is not None:
            await self._flusher

    async def _flush(self) -> None:
        try:
            while self._pending:
                await self._send_batch(self._next_batch())
        finally:
            self._flusher = None

    def _next_batch(self) -> list[tuple[Item, int, asyncio.Future[Outcome]]]:
        count, total = 0, 0
        for _, size, _ in self._pending[: self._max_items]:
            if count and self._max_bytes and total + size > self._max_bytes:
                break
            count, total = count + 1, total + size
        batch = self._pending[:count]
        del self._pending[:count]
        return batch

    async def _send_batch(self, batch: list[tuple[Item, int, asyncio.Future[Outcome]]]) -> None:
        metrics.record_batch(self._batch, len(batch))
        try:
            outcomes = await self._send([item for item, _, _ in batch])
            if len(outcomes) != len(batch):
                raise errors.Internal(
                    f"{self._what} answered {len(outcomes)} of a batch of {len(batch)}"
                )
        except Exception as exc:
            if not isinstance(exc, errors.MeshError):
                log.exception("%s: batch failed", self._what)
                exc = errors.Unavailable(f"{self._what} cannot be reached")
            outcomes = [exc] * len(batch)
        for (_, _, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # a cancelled caller's item stands
                continue
            if isinstance(outcome, errors.MeshError):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
