"""Run leases: which router drives a run (global: run ids are unique across tenants)."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod

from google.protobuf import timestamp_pb2

from airspace.v1 import run_pb2


@dataclasses.dataclass(frozen=True)
class Lease:
    # Whether the asking owner holds the lease now.
    acquired: bool
    owner: str
    expire_time: timestamp_pb2.Timestamp


class LeaseStore(ABC):
    @abstractmethod
    async def acquire_lease(self, run_id: str, owner: str, ttl_seconds: float) -> Lease:
        """Grants or renews the lease unless another owner holds it unexpired."""

    @abstractmethod
    async def release_lease(self, run_id: str, owner: str) -> None:
        """A no-op when the owner no longer holds it."""

    @abstractmethod
    async def list_claimable_runs(
        self, limit: int, min_age_seconds: float = 0.0
    ) -> list[run_pb2.Run]:
        """QUEUED or RUNNING runs whose lease expired, or without a lease and created at
        least min_age_seconds ago; oldest first."""
