"""Approvals: stamping, deciding once, and which are due."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from airspace.mesh import errors
from airspace.state import records
from airspace.state.conditions import Conditions
from airspace.state.store.approvals import Decision
from airspace.v1 import approval_pb2, run_pb2

_CLOSED_APPROVAL_STATES = (approval_pb2.APPROVAL_STATE_DECIDED, approval_pb2.APPROVAL_STATE_EXPIRED)


def new_approval(approval: approval_pb2.Approval, now: int) -> approval_pb2.Approval:
    """The approval as first stored: named, PENDING, stamped, its payload hashed."""
    stored = approval_pb2.Approval()
    stored.CopyFrom(approval)
    stored.name = f"approvals/{approval.approval_id}"
    stored.state = approval_pb2.APPROVAL_STATE_PENDING
    stored.create_time.CopyFrom(records.timestamp(now))
    if not stored.payload_hash:
        stored.payload_hash = records.canonical_sha256(stored.payload)
    return stored


def approval_row(stored: approval_pb2.Approval, now: int) -> tuple:
    """The columns (tenant, approval_id, run_id, state, required_role, create_us, data)
    of a new approval."""
    return (
        stored.tenant,
        stored.approval_id,
        stored.run_id,
        stored.state,
        stored.required_role,
        now,
        stored.SerializeToString(),
    )


def listing_conditions(
    tenant: str, state: int, roles: Collection[str], run_id: str, after: list | None
) -> Conditions:
    """ListApprovals' filters; `after` is the (create_us, approval_id) of the previous
    page's last."""
    conditions = Conditions().add("tenant = {}", tenant)
    if state:
        conditions.add("state = {}", state)
    if roles:
        conditions.add_in("required_role", list(roles))
    if run_id:
        conditions.add("run_id = {}", run_id)
    if after is not None:
        conditions.add("(create_us, approval_id) > ({}, {})", *after)
    return conditions


def decided(approval: approval_pb2.Approval, decision: Decision, now: int) -> approval_pb2.Approval:
    """The approval with the decision; refused when already decided, or when past its
    deadline for anything but an expiry."""
    if approval.state in _CLOSED_APPROVAL_STATES:
        raise errors.FailedPrecondition(
            f"approval {approval.approval_id!r} was already decided",
            reason="APPROVAL_ALREADY_DECIDED",
        )
    expired = approval.HasField("expire_time") and approval.expire_time.ToMicroseconds() <= now
    if expired and decision.outcome != run_pb2.APPROVAL_OUTCOME_EXPIRED:
        raise errors.FailedPrecondition(
            f"approval {approval.approval_id!r} passed its deadline", reason="APPROVAL_EXPIRED"
        )
    approval.outcome = decision.outcome
    approval.decided_by = decision.decided_by
    approval.comment = decision.comment
    approval.decide_time.CopyFrom(records.timestamp(now))
    if decision.edited_payload is not None:
        approval.edited_payload.CopyFrom(decision.edited_payload)
    approval.state = (
        approval_pb2.APPROVAL_STATE_EXPIRED
        if decision.outcome == run_pb2.APPROVAL_OUTCOME_EXPIRED
        else approval_pb2.APPROVAL_STATE_DECIDED
    )
    return approval


def due(
    pending: Iterable[approval_pb2.Approval], due_before_us: int, limit: int
) -> list[approval_pb2.Approval]:
    """The pending approvals whose deadline is before the time, soonest first."""
    overdue = [
        a
        for a in pending
        if a.HasField("expire_time") and a.expire_time.ToMicroseconds() < due_before_us
    ]
    return sorted(overdue, key=lambda a: a.expire_time.ToMicroseconds())[:limit]


def approval_not_found(approval_id: str) -> errors.NotFound:
    return errors.NotFound(f"approval {approval_id!r} not found")
