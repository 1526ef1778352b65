"""Router leases and the run leases held under them (global: run ids are unique across
tenants). The rules every store follows are in rules/leases.py."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod

from google.protobuf import timestamp_pb2

from airspace.v1 import run_pb2


@dataclasses.dataclass(frozen=True)
class RouterLease:
    epoch: int
    expire_time: timestamp_pb2.Timestamp


@dataclasses.dataclass(frozen=True)
class Renewal:
    expire_time: timestamp_pb2.Timestamp
    # Whether some router's lease lapsed with runs still under it: a takeover to do.
    takeover_pending: bool


@dataclasses.dataclass(frozen=True)
class Lease:
    # Whether the asking router holds the run's lease now.
    acquired: bool
    owner: str
    # The fencing token of the current grant.
    token: int = 0
    # The router whose lapsed lease this grant took over ("" when none).
    previous_owner: str = ""


@dataclasses.dataclass(frozen=True)
class RunClaim:
    """A router claiming the run it creates, under its registration's epoch."""

    router_id: str
    epoch: int


@dataclasses.dataclass(frozen=True)
class ClaimedRun:
    run: run_pb2.Run
    token: int
    previous_owner: str


class LeaseStore(ABC):
    @abstractmethod
    async def register_router(self, router_id: str, ttl_seconds: float) -> RouterLease:
        """Starts the router's next epoch, live for the TTL; frees the run leases it held
        under earlier epochs (their tokens stay, so their old grants stay refused)."""

    @abstractmethod
    async def renew_router_lease(self, router_id: str, epoch: int, ttl_seconds: float) -> Renewal:
        """Extends a live router lease of that epoch (one write, whatever number of runs it
        holds); FAILED_PRECONDITION LEASE_NOT_HELD once it lapsed or another epoch began."""

    @abstractmethod
    async def deregister_router(self, router_id: str, epoch: int) -> None:
        """Lets the router lease of that epoch lapse now, so other routers take its runs
        over at once; a no-op when that epoch is over."""

    @abstractmethod
    async def claim_run(self, run_id: str, router_id: str, epoch: int) -> Lease:
        """Grants the run's lease to a router holding a live lease of that epoch, unless
        another router holds the run live; a grant that moves it raises its token."""

    @abstractmethod
    async def claim_runs(
        self, router_id: str, epoch: int, limit: int, min_age_seconds: float
    ) -> list[ClaimedRun]:
        """Grants the router, in one transaction, up to `limit` QUEUED or RUNNING runs
        whose lease is not live (or that have none and were created at least
        min_age_seconds ago), oldest first; settles the lapsed router leases with no such
        run left under them (no takeover pending from them any more)."""

    @abstractmethod
    async def release_lease(self, run_id: str, owner: str, token: int = 0) -> None:
        """Frees the run's lease (its token stays) if `owner` holds it under the grant
        `token` names (any grant when 0); a no-op otherwise. The write that ends a run
        frees its lease by itself (RunStore.append_events)."""
