"""Delays between attempts to reopen a long-lived stream."""

from __future__ import annotations

import random


class Backoff:
    """Doubles from `first` up to `most`; each delay is cut by up to half at random, so
    routers that lost a stream together do not all come back at the same moment."""

    def __init__(self, first: float = 0.05, most: float = 2.0):
        self._first = first
        self._most = most
        self._next = first

    def reset(self) -> None:
        """The stream works again: the next failure waits the shortest delay."""
        self._next = self._first

    def delay(self) -> float:
        delay = self._next * random.uniform(0.5, 1.0)
        self._next = min(self._next * 2, self._most)
        return delay
