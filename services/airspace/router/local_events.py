"""The events of runs this router executes, handed in-process to the run's watchers.

The router appends every event of a run it executes itself, so its watchers need not
read them back from the state service. Each acknowledged append is published here
with its sequences (never before the state service acknowledged it: watchers see only
durable events). A run's feed is open while this router executes it.

The feed is authoritative for a watcher only while it can hand over the event right
after the watcher's last one. It stops serving a watcher, which then follows the state
service's stream from its last event (no gap, no duplicate), when:
- an append follows events the feed never saw (another writer appended: a cancel from
  another replica, an approval decision; or the run was read stale when it was taken);
- the run stops executing here without ending (it waits for an approval, the router
  stops, lost the lease, or its append was refused);
- the watcher falls `BUFFERED_EVENTS` behind, or nothing reached it for its quiet time
  (the router's watch_quiet_seconds): another writer's event (a cancel) is seen only by
  the state service, and must reach watchers of a run whose agent works in silence.
A feed that publishes the run's end ends its watchers: nothing follows an end.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Sequence

from airspace.router import run_outcome
from airspace.v1 import run_pb2

# Events a watcher may fall behind before it leaves the feed for the state service.
BUFFERED_EVENTS = 256
# Recent events a feed keeps, for watchers that start a little behind (a run's first).
RECENT_EVENTS = 64


class LocalWatch:
    """One watcher's events from a feed, in order. Iteration stops when the run ended
    (`ended` is then True) or when the feed cannot serve it further: then `last_sequence`
    is where to follow the state service from."""

    def __init__(self, feed: _Feed, after_sequence: int, quiet_seconds: float):
        self._feed = feed
        self._quiet = quiet_seconds
        self._buffer: collections.deque[run_pb2.RunEvent] = collections.deque()
        self._ready = asyncio.Event()
        self.attached = True
        self.ended = False
        self.last_sequence = after_sequence

    def push(self, run_event: run_pb2.RunEvent) -> bool:
        """Buffers an event; False when the buffer is full (the watcher must leave)."""
        if len(self._buffer) >= BUFFERED_EVENTS:
            return False
        self._buffer.append(run_event)
        self._ready.set()
        return True

    def detach(self) -> None:
        """No more events from the feed: what is buffered is still handed over."""
        self.attached = False
        self._ready.set()

    def close(self) -> None:
        self._feed.leave(self)

    def __aiter__(self) -> LocalWatch:
        return self

    async def __anext__(self) -> run_pb2.RunEvent:
        while not self._buffer:
            if not self.attached or self.ended:
                raise StopAsyncIteration
            self._ready.clear()
            try:
                async with asyncio.timeout(self._quiet):  # no task per wait, unlike wait_for
                    await self._ready.wait()
            except TimeoutError:
                self.close()
        run_event = self._buffer.popleft()
        self.last_sequence = run_event.sequence
        self.ended = run_outcome.ended_by(run_event) is not None
        return run_event


class _Feed:
    """One run's feed: the events after `last - len(recent)`, up to `last`, gap-free."""

    __slots__ = ("last", "_recent", "watchers", "writers")

    def __init__(self, last_sequence: int):
        self.last = last_sequence
        # Made with the first event: the feed of a run waiting its turn stays small.
        self._recent: collections.deque[run_pb2.RunEvent] | None = None
        self.watchers: set[LocalWatch] = set()
        # Executions (and cancels) of this router writing the run's log now.
        self.writers = 0

    @property
    def recent(self) -> Sequence[run_pb2.RunEvent]:
        return self._recent if self._recent is not None else ()

    def covers(self, after_sequence: int) -> bool:
        return self.last - len(self.recent) <= after_sequence <= self.last

    def add(self, run_event: run_pb2.RunEvent) -> None:
        if self._recent is None:
            self._recent = collections.deque(maxlen=RECENT_EVENTS)
        self._recent.append(run_event)
        self.last = run_event.sequence
        for watcher in list(self.watchers):
            if not watcher.push(run_event):
                self.leave(watcher)

    def restart_at(self, last_sequence: int) -> None:
        """Others' events came before: those who wait for them follow the state service."""
        self._recent = None
        self.last = last_sequence
        self.stop_all()

    def leave(self, watcher: LocalWatch) -> None:
        self.watchers.discard(watcher)
        watcher.detach()

    def stop_all(self) -> None:
        for watcher in list(self.watchers):
            self.leave(watcher)


class LocalEvents:
    """The feeds of the runs this router executes, by run id. `quiet_seconds` is how long
    a watcher waits for an event before it follows the state service instead."""

    def __init__(self, quiet_seconds: float):
        self._feeds: dict[str, _Feed] = {}
        self._quiet = quiet_seconds

    def open(self, run_id: str, last_sequence: int) -> None:
        """This router executes the run from now on; its log ends at `last_sequence`
        (as far as it knows: a stale figure only makes watchers switch sooner)."""
        self._feeds.setdefault(run_id, _Feed(last_sequence)).writers += 1

    def hold(self, run_id: str) -> bool:
        """Keeps an open feed open for one more writer (a canceler, whose append ends
        the run after its execution stopped); False when the feed is not open."""
        feed = self._feeds.get(run_id)
        if feed is not None:
            feed.writers += 1
        return feed is not None

    def close(self, run_id: str) -> None:
        """One writer is done; once none is left, the run's watchers follow the state
        service."""
        feed = self._feeds.get(run_id)
        if feed is None:
            return
        feed.writers -= 1
        if feed.writers <= 0:
            self._end(run_id)

    def _end(self, run_id: str) -> None:
        feed = self._feeds.pop(run_id, None)
        if feed is not None:
            feed.stop_all()

    def publish(self, run_id: str, events: Sequence[run_pb2.RunEvent], last_sequence: int) -> None:
        """Hands events the state service acknowledged, the last at `last_sequence`, to
        the run's watchers."""
        feed = self._feeds.get(run_id)
        if feed is None or not events:
            return
        first = last_sequence - len(events) + 1
        if first != feed.last + 1:
            feed.restart_at(first - 1)
        for offset, appended in enumerate(events):
            run_event = run_pb2.RunEvent()
            run_event.CopyFrom(appended)
            run_event.sequence = first + offset
            feed.add(run_event)
            if run_outcome.ended_by(run_event) is not None:
                self._end(run_id)  # after its end, the run has nothing more to publish
                return

    def subscribe(self, run_id: str, after_sequence: int) -> LocalWatch | None:
        """The run's events after `after_sequence` as this router appends them, or None
        when this router does not execute the run or cannot start at that cursor."""
        feed = self._feeds.get(run_id)
        if feed is None or not feed.covers(after_sequence):
            return None
        watcher = LocalWatch(feed, after_sequence, self._quiet)
        for run_event in feed.recent:
            if run_event.sequence > after_sequence and not watcher.push(run_event):
                watcher.detach()  # it takes what fit, then follows the state service
                return watcher
        feed.watchers.add(watcher)
        return watcher
