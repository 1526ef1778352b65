"""The audit outbox: audit records a router stored with the change they authorize (an
append, a run's creation), in its transaction, until the router relays them to the
policy service's audit log. Each entry is kept under the router that wrote it; a router
whose lease lapsed (it crashed) leaves its entries to the next router that claims them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from airspace.policy.v1 import policy_pb2

# Entries one claim returns at most: one batch of the audit log (RecordDecisions).
MAX_CLAIM = 512


class AuditOutboxStore(ABC):
    @abstractmethod
    async def claim(self, router_id: str, epoch: int, limit: int) -> list[policy_pb2.AuditRecord]:
        """Takes over, in one transaction, the entries of routers whose lease is not live
        (or of none), and returns up to `limit` of the router's entries, oldest first;
        LEASE_NOT_HELD unless the router's lease of that epoch is live."""

    @abstractmethod
    async def remove(self, record_ids: Sequence[str]) -> int:
        """Removes the entries the audit log holds now; returns how many there were."""
