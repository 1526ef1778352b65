"""Completed results by idempotency key, so a retried step attempt is answered without rework."""

from __future__ import annotations

import collections
import dataclasses

from airspace.agent.v1 import agent_pb2


@dataclasses.dataclass
class _Entry:
    executions: int = 0
    result: agent_pb2.InvokeEvent | None = None


class IdempotencyCache:
    """A bounded LRU: the least recently used key is forgotten first.

    It also counts how often the handler ran per key, which is what idempotency promises
    to keep at one."""

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError("the idempotency cache needs a capacity of at least 1")
        self._capacity = capacity
        self._entries: collections.OrderedDict[str, _Entry] = collections.OrderedDict()

    def result(self, key: str) -> agent_pb2.InvokeEvent | None:
        entry = self._entries.get(key)
        if entry is None or entry.result is None:
            return None
        self._entries.move_to_end(key)
        return entry.result

    def executing(self, key: str) -> None:
        self._entry(key).executions += 1

    def completed(self, key: str, result: agent_pb2.InvokeEvent) -> None:
        self._entry(key).result = result

    def executions(self) -> dict[str, int]:
        return {key: entry.executions for key, entry in self._entries.items()}

    def _entry(self, key: str) -> _Entry:
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
            if len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        self._entries.move_to_end(key)
        return entry
