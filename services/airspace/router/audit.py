"""Run lifecycle changes and human decisions, recorded in the policy service's audit log.

Entries are filed under the run's tenant, so the tenant's auditors find them next to the
policy decisions of the same run (`airspace audit list --run ID`). The policy service
masks PII in details (reasons and comments are free text) before storing them.

Recording happens after the change is committed to state: a failure to record is
logged loudly but does not undo or fail the change. A run moving on (created, queued,
running) does not wait for its record, which rides with the run's next decision in one
batch; a run that parks or ends, and a person's decision, wait until theirs is durable.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from airspace.mesh import errors
from airspace.policy.engine.model import Subject
from airspace.router.repositories import AuditEvent, PolicyDecisions
from airspace.v1 import approval_pb2, run_pb2

log = logging.getLogger("airspace.router")

RUN_CREATED = "run.created"
RUN_STATE_CHANGED = "run.state_changed"
APPROVAL_DECIDED = "approval.decided"
ROUTER = "service:router"
# States a run leaves soon by itself, with a policy decision the record can ride with.
_MOVING_ON = (run_pb2.RUN_STATE_QUEUED, run_pb2.RUN_STATE_RUNNING)


async def run_created(policy: PolicyDecisions, run: run_pb2.Run) -> None:
    """A run was created (QUEUED) by its creator."""
    details = {
        "workflow": run.workflow.name,
        "workflow_version": run.workflow.version,
        "agent_versions": dict(run.agent_versions),
        "request_id": run.request_id,
    }
    who = _acting(run.created_by, run.tenant)
    await _record(policy, RUN_CREATED, who, run.run_id, details, wait=False)


async def run_state_changed(
    policy: PolicyDecisions,
    run: run_pb2.Run,
    to: run_pb2.RunState,
    reason: str = "",
    by: str = ROUTER,
) -> None:
    """A run moved from `run.state` to `to`, caused by principal `by` (the router itself
    unless a person, canceling say, caused it)."""
    details = {
        "workflow": run.workflow.name,
        "workflow_version": run.workflow.version,
        "from": run_pb2.RunState.Name(run.state),
        "to": run_pb2.RunState.Name(to),
        "reason": reason,
    }
    who = _acting(by, run.tenant)
    await _record(policy, RUN_STATE_CHANGED, who, run.run_id, details, wait=to not in _MOVING_ON)


async def approval_decided(policy: PolicyDecisions, approval: approval_pb2.Approval) -> None:
    """A person decided an approval (`decided_by` names them)."""
    details = {
        "approval_id": approval.approval_id,
        "kind": approval_pb2.ApprovalKind.Name(approval.kind),
        "outcome": run_pb2.ApprovalOutcome.Name(approval.outcome),
        "step_key": approval.step_key,
        "required_role": approval.required_role,
        "requested_by": approval.requested_by,
        "comment": approval.comment,
        "payload_hash": approval.payload_hash,
        "edited": approval.HasField("edited_payload"),
    }
    who = _acting(approval.decided_by, approval.tenant)
    await _record(policy, APPROVAL_DECIDED, who, approval.run_id, details, wait=True)


def _acting(principal: str, tenant: str) -> Subject:
    """Who an entry names, filed under the run's tenant (a router acts for every tenant)."""
    return Subject(principal=principal, tenant=tenant)


async def _record(
    policy: PolicyDecisions,
    kind: str,
    who: Subject,
    run_id: str,
    details: Mapping[str, Any],
    *,
    wait: bool,
) -> None:
    try:
        await policy.record_audit(AuditEvent(kind, who, run_id, details), wait=wait)
    except errors.MeshError as exc:
        log.error("audit entry %s for run %s not recorded: %s", kind, run_id, exc.message)
