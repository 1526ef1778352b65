"""Calls in flight to each agent, bounded: a call past an agent's limit waits for a free
slot (within its own deadline) instead of failing at the agent's server, whose own limit
answers with an error every call above it, however many runs are parked on it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from airspace.router import metrics


class AdmissionTimeout(Exception):
    """The call's deadline passed while it waited for a slot."""


class AgentAdmission:
    def __init__(self, limit: int):
        if limit < 1:
            raise ValueError(f"an agent needs at least one call in flight, not {limit}")
        self._limit = limit
        self._slots: dict[str, asyncio.Semaphore] = {}

    @contextlib.asynccontextmanager
    async def slot(self, endpoint: str, timeout: float) -> AsyncIterator[float]:
        """Holds one of the endpoint's slots; yields the time left of `timeout` once the
        slot is held (AdmissionTimeout when none frees up in time)."""
        slots = self._slots.setdefault(endpoint, asyncio.Semaphore(self._limit))
        began = time.monotonic()
        metrics.agent_calls_queued(endpoint, +1)
        try:
            # A timeout, not wait_for: no task of its own for each call that waits (a
            # router may hold hundreds of runs waiting at a busy agent).
            async with asyncio.timeout(timeout):
                await slots.acquire()
        except TimeoutError as exc:
            raise AdmissionTimeout(
                f"no free call slot at {endpoint} within {timeout:.1f}s"
            ) from exc
        finally:
            metrics.agent_calls_queued(endpoint, -1)
        metrics.agent_calls_in_flight(endpoint, +1)
        try:
            yield timeout - (time.monotonic() - began)
        finally:
            metrics.agent_calls_in_flight(endpoint, -1)
            slots.release()
