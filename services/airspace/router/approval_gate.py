"""Durable human decisions inside a run.

A pattern that needs a person asks the gate. The first time, the gate records an
approval and the run pauses (RunPaused): the router releases it and nothing waits in
memory, so a pause can last days and survive restarts. When the approval is decided
the run is queued again, replays its journal up to the same point, and the gate
returns the decision. Steps completed before the request whose write still waits in the
run log (run_log.py) are written before the approval exists.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf import timestamp_pb2

from airspace.mesh import errors
from airspace.mesh.reasons import Reason
from airspace.router import convert, metrics
from airspace.router.repositories import ApprovalRepository, PageRequest
from airspace.router.run_context import RunContext, RunFailure
from airspace.router.run_log import event
from airspace.v1 import approval_pb2, run_pb2

DEFAULT_DEADLINE = datetime.timedelta(days=7)
# Hex digits of an approval id's hash: short enough to read and type, and with 48 bits
# unlikely to collide among one tenant's approvals.
_ID_DIGITS = 12


def approval_id_of(run_id: str, key: str) -> str:
    """The approval of this point of the run: the same on every replay, so a resumed run
    finds the decision it waited for."""
    digest = hashlib.sha256(f"{run_id}-{key}".encode()).hexdigest()
    return f"ap-{digest[:_ID_DIGITS]}"


class RunPaused(Exception):
    """The run waits for a human decision; the router stops executing it for now."""

    def __init__(self, approval_id: str, role: str):
        super().__init__(f"waiting for approval {approval_id} by role {role}")
        self.approval_id = approval_id
        self.role = role


# Decided approvals one run collects, at most (a step's action decisions are read at once).
MAX_DECIDED_PER_RUN = 1000


class ApprovalGate:
    def __init__(self, approvals: ApprovalRepository):
        self._approvals = approvals

    async def decided_approvals(self, ctx: RunContext) -> list[approval_pb2.Approval]:
        """The run's decided approvals, e.g. people's decisions on its actions."""
        page = await self._approvals.list(
            ctx.tenant,
            PageRequest(size=MAX_DECIDED_PER_RUN),
            state=approval_pb2.APPROVAL_STATE_DECIDED,
            run_id=ctx.run_id,
        )
        return page.items

    async def decision(
        self,
        ctx: RunContext,
        key: str,
        kind: approval_pb2.ApprovalKind,
        role: str,
        summary: str,
        payload: Mapping[str, Any],
        evidence: Mapping[str, Any] | None = None,
        with_request: Sequence[run_pb2.RunEvent] = (),
        deadline: float = DEFAULT_DEADLINE.total_seconds(),
    ) -> approval_pb2.Approval:
        """The decided approval for this point of the run; pauses the run until there is one.

        `with_request` are events recorded once, when the approval is first requested."""
        approval_id = approval_id_of(ctx.run_id, key)
        try:
            approval = await self._find(ctx, approval_id, key)
        except errors.NotFound:
            await self._request(
                ctx,
                key,
                approval_id,
                kind,
                role,
                summary,
                payload,
                evidence or {},
                with_request,
                deadline,
            )
            raise RunPaused(approval_id, role) from None
        if approval.state == approval_pb2.APPROVAL_STATE_PENDING:
            raise RunPaused(approval_id, approval.required_role)
        return approval  # decided, or expired: the caller escalates or fails

    async def _find(self, ctx: RunContext, approval_id: str, key: str) -> approval_pb2.Approval:
        try:
            return await self._approvals.get(ctx.tenant, approval_id)
        except errors.NotFound:
            # Approvals requested before ids were shortened keep their long ids.
            return await self._approvals.get(ctx.tenant, f"{ctx.run_id}-{key}")

    async def _request(
        self,
        ctx: RunContext,
        key: str,
        approval_id: str,
        kind: approval_pb2.ApprovalKind,
        role: str,
        summary: str,
        payload: Mapping[str, Any],
        evidence: Mapping[str, Any],
        events: Sequence[run_pb2.RunEvent],
        deadline: float,
    ) -> None:
        expire = timestamp_pb2.Timestamp()
        expire.FromDatetime(
            datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=deadline)
        )
        approval = approval_pb2.Approval(
            name=f"approvals/{approval_id}",
            approval_id=approval_id,
            run_id=ctx.run_id,
            step_key=key,
            tenant=ctx.tenant,
            kind=kind,
            state=approval_pb2.APPROVAL_STATE_PENDING,
            required_role=role,
            summary=summary,
            evidence=convert.to_struct(evidence),
            payload=convert.to_struct(payload),  # the state service hashes it: decisions bind to it
            requested_by=ctx.run.created_by,
            expire_time=expire,
        )
        approval.create_time.GetCurrentTime()
        # The decision that holds the run for a person is durable before its approval is,
        # and so are the steps the approver sees done: a run waits only on completed work.
        await ctx.log.store_audit()
        await ctx.log.write_completed()
        await self._approvals.create(approval)
        await ctx.log.append(
            *events,
            event(
                key,
                approval_requested=run_pb2.ApprovalRequested(
                    approval_id=approval_id, role=role, summary=summary, expire_time=expire
                ),
            ),
        )
        metrics.record_approval_requested()


def expired(approval: approval_pb2.Approval) -> bool:
    return approval.state == approval_pb2.APPROVAL_STATE_EXPIRED


def expiry(approval: approval_pb2.Approval, key: str) -> RunFailure:
    return RunFailure(
        f"approval {approval.approval_id} expired without a decision", Reason.APPROVAL_EXPIRED, key
    )
