"""In-process wake-ups for watchers of a run, so nobody polls the database in a loop."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager


class RunSignals:
    def __init__(self) -> None:
        self._watchers: dict[str, set[asyncio.Event]] = {}

    @contextmanager
    def subscribe(self, run_id: str) -> Iterator[asyncio.Event]:
        """An event set by every later notify(run_id); the watcher clears it before reading."""
        event = asyncio.Event()
        self._watchers.setdefault(run_id, set()).add(event)
        try:
            yield event
        finally:
            watchers = self._watchers[run_id]
            watchers.discard(event)
            if not watchers:
                del self._watchers[run_id]

    def notify(self, run_id: str) -> None:
        for event in self._watchers.get(run_id, ()):
            event.set()

    def notify_all(self) -> None:
        """Wakes every watcher, when changes may have gone unannounced."""
        for watchers in self._watchers.values():
            for event in watchers:
                event.set()

    def watched_runs(self) -> int:
        return len(self._watchers)
