"""Following a run's event log: what is stored after a cursor, then live until the run ends."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from airspace.state.store.runs import RunStore
from airspace.v1 import run_pb2

BATCH = 500


async def watch_events(
    runs: RunStore, tenant: str, run_id: str, after_sequence: int, *, recheck_seconds: float
) -> AsyncIterator[run_pb2.RunEvent]:
    """Yields events with a greater sequence, in order, and returns once the run is in
    a terminal state and every event was yielded. Waits on the store's notification;
    the periodic re-check catches writes from other processes, for stores whose
    notifications do not."""
    recheck = None if runs.signals_every_writer else recheck_seconds
    cursor = after_sequence
    with runs.subscribe(run_id) as changed:
        while True:
            # Cleared before reading: a write committed after the read sets it again.
            changed.clear()
            page = await runs.list_events(tenant, run_id, after_sequence=cursor, limit=BATCH)
            for event in page.events:
                yield event
                cursor = event.sequence
            if cursor < page.last_sequence:
                continue
            if page.run_ended:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), recheck)
