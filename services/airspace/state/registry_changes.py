"""In-process fan-out of registry changes to the subscriptions of this process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from airspace.mesh import errors
from airspace.state.store.registry_changes import RegistryChangeFeed
from airspace.state.v1 import state_pb2

# Changes a subscriber may fall behind by; past it the subscription ends, as a change
# might be missed, and its caller starts over rather than hold memory for it.
MAX_BACKLOG = 1000

WORKFLOW, AGENT = state_pb2.REGISTRY_KIND_WORKFLOW, state_pb2.REGISTRY_KIND_AGENT


def change(kind: state_pb2.RegistryKind, tenant: str, name: str, revision: int = 0):
    return state_pb2.RegistryChange(kind=kind, tenant=tenant, name=name, revision=revision)


class _Subscription:
    def __init__(self) -> None:
        # None ends the subscription: a change may have been missed.
        self.queue: asyncio.Queue[state_pb2.RegistryChange | None] = asyncio.Queue()

    def put(self, registry_change: state_pb2.RegistryChange) -> None:
        if self.queue.qsize() >= MAX_BACKLOG:
            self.interrupt()
        else:
            self.queue.put_nowait(registry_change)

    def interrupt(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)

    async def changes(self) -> AsyncIterator[state_pb2.RegistryChange]:
        while (registry_change := await self.queue.get()) is not None:
            yield registry_change
        raise errors.Unavailable("registry changes may have been missed", retry_after=0.1)


class RegistryChanges(RegistryChangeFeed):
    """Live at once: for a store whose every write goes through this process."""

    def __init__(self) -> None:
        self._subscriptions: set[_Subscription] = set()

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[state_pb2.RegistryChange]]:
        subscription = _Subscription()
        self._subscriptions.add(subscription)
        try:
            yield subscription.changes()
        finally:
            self._subscriptions.discard(subscription)

    def publish(self, registry_change: state_pb2.RegistryChange) -> None:
        """Announces a committed change (never one that may still roll back: a reader
        woken by it must find it)."""
        for subscription in self._subscriptions:
            subscription.put(registry_change)

    def interrupt(self) -> None:
        """Ends every subscription: changes may have gone unannounced."""
        for subscription in self._subscriptions:
            subscription.interrupt()

    def subscribers(self) -> int:
        return len(self._subscriptions)
