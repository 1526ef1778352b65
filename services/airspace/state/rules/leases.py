"""Who may take a run's lease, and with which fencing token: the same for every store.

A lease passes to a new owner only when nobody holds it live. Its fencing token rises
each time it passes to an owner that did not hold it live (a renewal keeps it), so a
router's writes name the grant they were made under and the store refuses them once
the lease has moved on, even if that router holds it again by now.
"""

from __future__ import annotations

import dataclasses

from airspace.mesh import errors


@dataclasses.dataclass(frozen=True)
class HeldLease:
    """The lease row as stored; a released lease keeps its token and has no owner."""

    owner: str
    expire_us: int
    token: int


@dataclasses.dataclass(frozen=True)
class Grant:
    token: int
    expire_us: int
    # The owner whose lapsed lease this grant takes over ("" when none).
    previous_owner: str


def grant(held: HeldLease | None, owner: str, now: int, expire_us: int) -> Grant | None:
    """The grant `owner` gets, or None while another owner holds the lease live."""
    if held is None:
        return Grant(1, expire_us, "")
    live = held.expire_us > now
    if live and held.owner != owner:
        return None
    if live:
        return Grant(held.token, expire_us, "")  # a renewal
    previous = held.owner if held.owner not in ("", owner) else ""
    return Grant(held.token + 1, expire_us, previous)


def lease_not_held(run_id: str, owner: str) -> errors.FailedPrecondition:
    return errors.FailedPrecondition(
        f"{owner!r} does not hold the lease of run {run_id!r}", reason="LEASE_NOT_HELD"
    )
