"""Human decisions: listing what the caller may decide, and recording a decision once.

Who may decide is checked here, whatever the policy bundle says: an approver must
hold the approval's role (or be an admin of the tenant), may never be the principal
whose run asked, and is never an agent.
"""

from __future__ import annotations

from airspace.mesh import errors
from airspace.mesh.reasons import Reason
from airspace.router import audit, metrics
from airspace.router.commands import DecideApproval, ListApprovals
from airspace.router.executor import RunExecutor
from airspace.router.guard import Guard
from airspace.router.repositories import Decision, Page, Repositories
from airspace.v1 import approval_pb2, run_pb2

ADMIN = "admin"
DECISIONS = (
    run_pb2.APPROVAL_OUTCOME_APPROVED,
    run_pb2.APPROVAL_OUTCOME_REJECTED,
    run_pb2.APPROVAL_OUTCOME_EDITED,
)


class Approvals:
    def __init__(self, repositories: Repositories, guard: Guard, executor: RunExecutor):
        self._approvals = repositories.approvals
        self._policy = repositories.policy
        self._guard = guard
        self._executor = executor

    async def list(self, query: ListApprovals) -> Page[approval_pb2.Approval]:
        caller = await self._guard.authorize("approval.read", "approval")
        return await self._approvals.list(
            caller.tenant,
            query.page,
            state=query.state or approval_pb2.APPROVAL_STATE_PENDING,
            # An admin sees every approval of the tenant, whatever role it needs.
            roles=() if ADMIN in caller.roles else caller.roles,
            run_id=query.run_id,
        )

    async def get(self, approval_id: str) -> approval_pb2.Approval:
        if not approval_id:
            raise errors.InvalidArgument("approval_id is required", field="approval_id")
        caller = await self._guard.authorize("approval.read", "approval", approval_id)
        return await self._approvals.get(caller.tenant, approval_id)

    async def decide(self, request: DecideApproval) -> approval_pb2.Approval:
        if request.outcome not in DECISIONS:
            raise errors.InvalidArgument(
                "outcome must be APPROVED, REJECTED or EDITED", field="outcome"
            )
        if request.outcome == run_pb2.APPROVAL_OUTCOME_EDITED and request.edited_payload is None:
            raise errors.InvalidArgument(
                "an EDITED decision needs edited_payload", field="edited_payload"
            )
        approval = await self.get(request.approval_id)
        caller = await self._guard.authorize("approval.decide", "approval", request.approval_id)
        if caller.kind == "agent":
            raise errors.PermissionDenied(
                "agents never decide approvals", reason=Reason.AGENT_CANNOT_APPROVE
            )
        if caller.principal == approval.requested_by:
            raise errors.PermissionDenied(
                "the requester may not decide their own approval", reason=Reason.SELF_APPROVAL
            )
        if approval.required_role not in caller.roles and ADMIN not in caller.roles:
            raise errors.PermissionDenied(
                f"deciding this approval needs the role {approval.required_role!r}",
                reason=Reason.MISSING_ROLE,
            )
        if request.payload_hash and request.payload_hash != approval.payload_hash:
            raise errors.FailedPrecondition(
                "the payload changed since it was read; read the approval again",
                reason=Reason.PAYLOAD_CHANGED,
            )
        decision = Decision(
            outcome=request.outcome,
            decided_by=caller.principal,
            comment=request.comment,
            edited_payload=request.edited_payload,
        )
        decided = await self._approvals.decide(caller.tenant, request.approval_id, decision)
        metrics.record_approval_decided(decided.outcome)
        await audit.approval_decided(self._policy, decided)
        await self._executor.resume(decided)
        return decided
