"""Who may claim a run, and with which fencing token: the same for every store.

A router holds a router lease (its registration): an expiry it renews with one write
per heartbeat, and an epoch raised on every registration. A run's lease names the
router that holds it and a fencing token; it is live exactly while its router's lease
is, so one renewal keeps every run of that router. A run lease passes to a new owner
only when it is not live, and its token then rises, so a router's writes name the
grant they were made under and the store refuses them once the run has moved on, even
if that router holds it again by now. A router whose lease lapsed cannot renew it: it
registers again, which frees every run lease it held (a new epoch starts from nothing).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from airspace.mesh import errors
from airspace.state import records
from airspace.state.rules.runs import run_from_row
from airspace.state.store.leases import ClaimedRun
from airspace.v1 import run_pb2


@dataclasses.dataclass(frozen=True)
class HeldLease:
    """A run's lease as stored; a released one keeps its token and has no owner."""

    owner: str
    token: int
    # Whether its owner's router lease is live now.
    live: bool


@dataclasses.dataclass(frozen=True)
class Grant:
    token: int
    # The router whose lapsed lease this grant takes over ("" when none).
    previous_owner: str


def grant(held: HeldLease | None, owner: str) -> Grant | None:
    """The grant `owner` gets, or None while another router holds the run live."""
    if held is None:
        return Grant(1, "")
    if held.live and held.owner != owner:
        return None
    if held.live:
        return Grant(held.token, "")  # it holds the run already
    previous = held.owner if held.owner not in ("", owner) else ""
    return Grant(held.token + 1, previous)


def creation_grant(created: bool, held: HeldLease | None, owner: str) -> Grant | None:
    """The grant of a CreateRun that claims its run for `owner` (its router lease live):
    the first grant of a run it created; for a request seen before, only the grant
    `owner` holds live already (the first reply was lost), never a new one: the run is
    another router's, waits in a queue unleased, waits for a person, or ended."""
    if created:
        return Grant(1, "")
    if held is not None and held.live and held.owner == owner:
        return Grant(held.token, "")
    return None


def freed_by(updated: run_pb2.Run) -> bool:
    """Whether the write that left the run so frees its lease in its transaction: a run
    that ended needs none, and its router need not release it with a write of its own.
    Its token stays, as on any release."""
    return updated.state in records.TERMINAL_RUN_STATES


def takeovers(
    rows: Iterable[Any], router_id: str, payloads: Mapping[str, bytes]
) -> list[tuple[ClaimedRun, bool]]:
    """The grants of a claim of runs nobody holds live, from rows of (data,
    last_sequence, payload_refs, tenant, lease owner, lease token), the lease columns
    NULL for a run never leased, and the payloads they reference; each with whether
    the run gets its first lease."""
    claimed = []
    for data, last_sequence, refs, _, owner, token in rows:
        held = HeldLease(owner, token, live=False) if owner is not None else None
        granted = grant(held, router_id)
        assert granted is not None  # a run not held live is always granted
        run = run_from_row((data, last_sequence, refs), payloads)
        claimed.append((ClaimedRun(run, granted.token, granted.previous_owner), held is None))
    return claimed


def next_epoch(held_epoch: int | None) -> int:
    """The epoch of a router's next registration (1 for its first)."""
    return (held_epoch or 0) + 1


def lease_not_held(run_id: str, owner: str) -> errors.FailedPrecondition:
    return errors.FailedPrecondition(
        f"{owner!r} does not hold the lease of run {run_id!r}", reason="LEASE_NOT_HELD"
    )


def router_lease_lapsed(router_id: str, epoch: int) -> errors.FailedPrecondition:
    return errors.FailedPrecondition(
        f"router {router_id!r} holds no live router lease of epoch {epoch}: it lapsed or"
        " was registered again; register anew",
        reason="LEASE_NOT_HELD",
    )
