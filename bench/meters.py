"""What a load costs beyond its own timing: readings taken around each of its rounds."""

from __future__ import annotations

import collections
from collections.abc import Callable, Hashable, Mapping

Readings = Mapping[Hashable, float]


class Meter:
    """Adds up how far monotonic readings (CPU seconds, counters) moved between each
    start() and stop(). A reading missing at start() counts from 0: a labelled counter
    appears on its first increment."""

    def __init__(self, read: Callable[[], Readings]):
        self._read = read
        self._started: Readings = {}
        self.moved: dict[Hashable, float] = collections.defaultdict(float)

    def start(self) -> None:
        self._started = self._read()

    def stop(self) -> None:
        for key, value in self._read().items():
            self.moved[key] += value - self._started.get(key, 0.0)

    def per(self, count: int, scale: float = 1.0) -> dict:
        """What moved, per `count` (e.g. runs), times `scale`; 0 for nothing counted."""
        return {key: (moved * scale / count if count else 0.0) for key, moved in self.moved.items()}
