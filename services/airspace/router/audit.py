"""Run lifecycle changes and human decisions, recorded in the policy service's audit log.

Entries are filed under the run's tenant, so the tenant's auditors find them next to the
policy decisions of the same run (`airspace audit list --run ID`). The policy service
masks PII in details (reasons and comments are free text) before storing them.

A run's creation and its changes of state are stored with the change itself, in its
transaction (the state service's audit outbox, relayed from there: audit_relay.py), so
a change never stands without its record. A person's decision is recorded once the
approval is decided: a failure to record it is logged loudly but does not undo the
decision.
"""

from __future__ import annotations

import logging

from airspace.mesh import errors
from airspace.policy.engine.model import Subject
from airspace.policy.v1 import policy_pb2
from airspace.router.repositories import AuditEvent, PolicyDecisions
from airspace.v1 import approval_pb2, run_pb2

log = logging.getLogger("airspace.router")

RUN_CREATED = "run.created"
RUN_STATE_CHANGED = "run.state_changed"
APPROVAL_DECIDED = "approval.decided"
ROUTER = "service:router"


class HeldRecords:
    """Audit records held for a write that may not happen (a run's creation: the request
    may still be refused, or answered by a run created before). The records ride with
    the write when it stores them; `store_unwritten` makes them durable on their own
    when it did not, or may not have (the policy service appends each once under its
    record_id, so a record the write did store is not appended twice)."""

    def __init__(self, policy: PolicyDecisions):
        self._policy = policy
        self.records: list[policy_pb2.AuditRecord] = []

    def carry(self, record: policy_pb2.AuditRecord) -> None:
        self.records.append(record)

    def filed_under(self, run_id: str) -> list[policy_pb2.AuditRecord]:
        """The records, filed under the run the write creates (decided before it had an
        id), so that its auditors find the decision that allowed it with the run."""
        for record in self.records:
            record.run_id = record.run_id or run_id
        return self.records

    def written(self) -> None:
        """The write stored the records: nothing is left to store."""
        self.records = []

    async def store_unwritten(self) -> None:
        records, self.records = self.records, []
        if records:
            await self._policy.store(records)


def run_created(policy: PolicyDecisions, run: run_pb2.Run) -> policy_pb2.AuditRecord:
    """The record of a run created (QUEUED) by its creator, stored with its creation."""
    details = {
        "workflow": run.workflow.name,
        "workflow_version": run.workflow.version,
        "agent_versions": dict(run.agent_versions),
        "request_id": run.request_id,
    }
    who = _acting(run.created_by, run.tenant)
    return policy.outbox_record(AuditEvent(RUN_CREATED, who, run.run_id, details))


def run_state_changed(
    policy: PolicyDecisions,
    run: run_pb2.Run,
    to: run_pb2.RunState,
    reason: str = "",
    by: str = ROUTER,
) -> policy_pb2.AuditRecord:
    """The record of a run moving from `run.state` to `to`, caused by principal `by` (the
    router itself unless a person, canceling say, caused it), stored with the change."""
    details = {
        "workflow": run.workflow.name,
        "workflow_version": run.workflow.version,
        "from": run_pb2.RunState.Name(run.state),
        "to": run_pb2.RunState.Name(to),
        "reason": reason,
    }
    who = _acting(by, run.tenant)
    return policy.outbox_record(AuditEvent(RUN_STATE_CHANGED, who, run.run_id, details))


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
    try:
        await policy.record_audit(AuditEvent(APPROVAL_DECIDED, who, approval.run_id, details))
    except errors.MeshError as exc:
        log.error(
            "audit entry %s for run %s not recorded: %s",
            APPROVAL_DECIDED,
            approval.run_id,
            exc.message,
        )


def _acting(principal: str, tenant: str) -> Subject:
    """Who an entry names, filed under the run's tenant (a router acts for every tenant)."""
    return Subject(principal=principal, tenant=tenant)
