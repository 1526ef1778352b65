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
    # The fencing token of the current grant (see rules/leases.py).
    token: int = 0
    # The owner whose lapsed lease this grant took over ("" when none).
    previous_owner: str = ""


class LeaseStore(ABC):
    @abstractmethod
    async def acquire_lease(self, run_id: str, owner: str, ttl_seconds: float) -> Lease:
        """Grants or renews the lease unless another owner holds it unexpired; a grant to
        an owner that did not hold it live raises the fencing token."""

    @abstractmethod
    async def release_lease(self, run_id: str, owner: str) -> None:
        """Ends the owner's lease (its token stays); a no-op when it no longer holds it."""

    @abstractmethod
    async def list_claimable_runs(
        self, limit: int, min_age_seconds: float = 0.0
    ) -> list[run_pb2.Run]:
        """QUEUED or RUNNING runs whose lease expired, or without a lease and created at
        least min_age_seconds ago; oldest first."""
