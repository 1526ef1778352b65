"""Changes of workflows and agent registrations, announced to those who cache them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager

from airspace.state.v1 import state_pb2


class RegistryChangeFeed(ABC):
    @abstractmethod
    def subscribe(self) -> AbstractAsyncContextManager[AsyncIterator[state_pb2.RegistryChange]]:
        """Entered once live: every change of a workflow or an agent committed from then
        on (by any process sharing the database, where the store can tell) comes out of
        the iterator, in commit order. The iterator raises Unavailable once a change may
        have been missed; it never ends otherwise."""
