"""A long-lived stream that speaks at least every so often.

A watcher cannot tell a quiet stream from a dead one (a half-open TCP connection
delivers nothing and never closes), so the stream says it is alive at a fixed
interval while it has nothing else to send.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

T = TypeVar("T")


async def with_keepalives(source: AsyncIterator[T], interval: float) -> AsyncIterator[T | None]:
    """What `source` yields, and None after every `interval` seconds it yields nothing."""
    # The next item is awaited in a task of its own: a keepalive must not cancel the
    # source mid-await, which would end it.
    upcoming: asyncio.Future[T] = asyncio.ensure_future(anext(source))
    try:
        while True:
            done, _ = await asyncio.wait({upcoming}, timeout=interval)
            if not done:
                yield None
                continue
            try:
                item = upcoming.result()
            except StopAsyncIteration:
                return
            yield item
            upcoming = asyncio.ensure_future(anext(source))
    finally:
        upcoming.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await upcoming
