"""In-memory repositories: the router's domain without a mesh, for unit tests.

They keep the contract of the state service where the router relies on it: appends
follow the expected sequence (Aborted SEQUENCE_MISMATCH otherwise), need the lease when
they name an owner, never extend an ended run, never journal a step twice, free the
lease of the run they end; a creation may claim its run; a repeated request_id finds
the first run (and is refused for another request); the audit records of a write land
in the outbox with it (under the writing router), or not at all; a decided
approval stays decided. Policy answers ALLOW unless a test sets a verdict per
checkpoint, and keeps what it was asked and audited.
"""

from __future__ import annotations

import asyncio
import builtins
import collections
import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Generic, TypeVar

from google.protobuf import field_mask_pb2, message, timestamp_pb2

from airspace.mesh import errors
from airspace.mesh.reasons import Reason
from airspace.policy.engine import model as policy
from airspace.policy.v1 import policy_pb2
from airspace.router.repositories.ports import (
    Appended,
    AuditCarrier,
    AuditEvent,
    ClaimedOutbox,
    ClaimedRun,
    CreatedRun,
    Decision,
    LeaseGrant,
    MemoryWrite,
    Page,
    PageRequest,
    Pruned,
    Repositories,
    RunChange,
    RunClaim,
)
from airspace.state.v1 import state_pb2
from airspace.trace.v1 import trace_pb2
from airspace.v1 import agent_registry_pb2, approval_pb2, run_pb2, workflow_pb2

TERMINAL = (run_pb2.RUN_STATE_COMPLETED, run_pb2.RUN_STATE_FAILED, run_pb2.RUN_STATE_CANCELED)
M = TypeVar("M", bound=message.Message)
T = TypeVar("T")


def _now() -> timestamp_pb2.Timestamp:
    now = timestamp_pb2.Timestamp()
    now.GetCurrentTime()
    return now


def _copy(original: M) -> M:
    copied = type(original)()
    copied.CopyFrom(original)
    return copied


def _page(items: Sequence[M], page: PageRequest) -> Page[M]:
    """Pages by position: the token is the offset of the next item."""
    start = int(page.token or 0)
    size = page.size or 100
    rest = items[start : start + size]
    more = start + size < len(items)
    return Page([_copy(item) for item in rest], str(start + size) if more else "")


@dataclasses.dataclass
class _StoredRun:
    run: run_pb2.Run
    events: list[run_pb2.RunEvent] = dataclasses.field(default_factory=list)
    journal: dict[str, state_pb2.JournalEntry] = dataclasses.field(default_factory=dict)
    changed: asyncio.Condition = dataclasses.field(default_factory=asyncio.Condition)
    request_digest: str = ""


class InMemoryRunRepository:
    def __init__(self) -> None:
        self._runs: dict[str, _StoredRun] = {}
        self.leases = InMemoryLeaseRepository(self.stored_runs)
        self.outbox = InMemoryAuditOutbox(self.leases)
        self.watches = 0  # event streams opened, as WatchEvents calls would be
        # How often each write was called, as the state service would count them.
        self.writes: collections.Counter[str] = self.leases.writes

    def stored_runs(self) -> builtins.list[run_pb2.Run]:
        return [stored.run for stored in self._runs.values()]

    def _stored(self, tenant: str, run_id: str) -> _StoredRun:
        stored = self._runs.get(run_id)
        if stored is None or stored.run.tenant != tenant:
            raise errors.NotFound(f"run {run_id!r} not found")
        return stored

    async def create(
        self,
        run: run_pb2.Run,
        request_digest: str = "",
        claim: RunClaim | None = None,
        audit: Sequence[policy_pb2.AuditRecord] = (),
    ) -> CreatedRun:
        self.writes["create"] += 1
        for stored in self._runs.values():
            if (stored.run.tenant, stored.run.request_id) == (run.tenant, run.request_id):
                if request_digest and stored.request_digest not in ("", request_digest):
                    raise errors.AlreadyExists(
                        f"request_id belongs to {stored.run.name}, created from another request",
                        reason=Reason.REQUEST_ID_REUSED,
                        metadata={"run": stored.run.name},
                    )
                grant = self.leases.held_grant(stored.run.run_id, claim) if claim else None
                return CreatedRun(_copy(stored.run), False, grant)
        if run.run_id in self._runs:
            raise errors.AlreadyExists(f"run {run.run_id!r} already exists")
        created = _copy(run)
        created.state = run.state or run_pb2.RUN_STATE_QUEUED
        created.create_time.CopyFrom(_now())
        self._runs[run.run_id] = _StoredRun(created, request_digest=request_digest)
        grant = self.leases.first_grant(run.run_id, claim) if claim else None
        self.outbox.keep(claim.router_id if claim else "", audit)
        return CreatedRun(_copy(created), True, grant)

    async def get(self, tenant: str, run_id: str) -> run_pb2.Run:
        return _copy(self._stored(tenant, run_id).run)

    async def list(
        self,
        tenant: str,
        page: PageRequest,
        *,
        workflow: str = "",
        state: run_pb2.RunState = run_pb2.RUN_STATE_UNSPECIFIED,
    ) -> Page[run_pb2.Run]:
        runs = [
            s.run
            for s in self._runs.values()
            if s.run.tenant == tenant
            and (not workflow or s.run.workflow.name == workflow)
            and (not state or s.run.state == state)
        ]
        return _page(runs, page)

    async def append(
        self,
        tenant: str,
        run_id: str,
        events: Sequence[run_pb2.RunEvent],
        *,
        expected_last_sequence: int,
        lease_owner: str = "",
        lease_token: int = 0,
        journal: Sequence[state_pb2.JournalEntry] = (),
        change: RunChange | None = None,
        audit: Sequence[policy_pb2.AuditRecord] = (),
    ) -> Appended:
        self.writes["append"] += 1
        stored = self._stored(tenant, run_id)
        last = stored.run.last_event_sequence
        if lease_owner and not self.leases.held(run_id, by=lease_owner, token=lease_token):
            raise errors.FailedPrecondition(
                f"{lease_owner!r} does not hold the lease of run {run_id!r}",
                reason=Reason.LEASE_NOT_HELD,
            )
        if expected_last_sequence != last:
            raise errors.Aborted(
                f"run {run_id!r} is at sequence {last}, not {expected_last_sequence}",
                reason=Reason.SEQUENCE_MISMATCH,
                metadata={"last_sequence": str(last)},
            )
        if stored.run.state in TERMINAL:
            raise errors.FailedPrecondition(f"run {run_id!r} has ended", reason=Reason.RUN_ENDED)
        keys = [entry.step_key for entry in journal]
        if len(set(keys)) < len(keys) or set(keys) & stored.journal.keys():
            raise errors.AlreadyExists(
                f"run {run_id!r} already journaled step {', '.join(keys)}",
                reason=Reason.STEP_ALREADY_JOURNALED,
            )
        updated = _changed(stored.run, change) if change is not None else None
        for offset, event in enumerate(events, start=1):
            appended = _copy(event)
            appended.sequence = last + offset
            stored.events.append(appended)
        stored.journal.update((entry.step_key, _copy(entry)) for entry in journal)
        stored.run.CopyFrom(updated or stored.run)
        stored.run.last_event_sequence = last + len(events)
        if stored.run.state in TERMINAL:
            self.leases.free(run_id)
        self.outbox.keep(lease_owner, audit)
        async with stored.changed:
            stored.changed.notify_all()
        run = _copy(stored.run) if updated is not None else None
        return Appended(stored.run.last_event_sequence, run)

    async def events(
        self, tenant: str, run_id: str, after_sequence: int, limit: int
    ) -> builtins.list[run_pb2.RunEvent]:
        stored = self._stored(tenant, run_id)
        return [_copy(e) for e in stored.events if e.sequence > after_sequence][:limit]

    async def watch(
        self, tenant: str, run_id: str, after_sequence: int, timeout: float
    ) -> AsyncIterator[run_pb2.RunEvent]:
        stored = self._stored(tenant, run_id)
        self.watches += 1
        cursor = after_sequence
        while True:
            for event in await self.events(tenant, run_id, cursor, len(stored.events)):
                cursor = event.sequence
                yield event
            if stored.run.state in TERMINAL:
                return
            async with stored.changed:
                await asyncio.wait_for(stored.changed.wait(), timeout)

    async def journal(self, tenant: str, run_id: str) -> builtins.list[state_pb2.JournalEntry]:
        return [_copy(entry) for entry in self._stored(tenant, run_id).journal.values()]

    async def prune(
        self, tenant: str, finished_before_micros: int, *, validate_only: bool, limit: int
    ) -> Pruned:
        due = [
            s
            for s in self._runs.values()
            if s.run.tenant == tenant
            and s.run.state in TERMINAL
            and s.run.end_time.ToMicroseconds() < finished_before_micros
            and (s.events or s.journal)
        ]
        chosen = due[: limit or len(due)]
        pruned = Pruned(
            len(chosen),
            sum(len(s.events) for s in chosen),
            sum(len(s.journal) for s in chosen),
            len(chosen) < len(due),
        )
        if not validate_only:
            for stored in chosen:
                stored.events.clear()
                stored.journal.clear()
        return pruned


def _changed(run: run_pb2.Run, change: RunChange) -> run_pb2.Run:
    if change.expected_states and run.state not in change.expected_states:
        raise errors.FailedPrecondition(
            f"run {run.run_id!r} is {run_pb2.RunState.Name(run.state)}",
            reason=Reason.RUN_STATE_MISMATCH,
        )
    fields = [field.name for field, _ in change.run.ListFields() if field.name != "run_id"]
    updated = _copy(run)
    field_mask_pb2.FieldMask(paths=fields).MergeMessage(
        change.run, updated, replace_message_field=True, replace_repeated_field=True
    )
    if updated.state in TERMINAL and run.state not in TERMINAL:
        updated.end_time.CopyFrom(_now())
    updated.update_time.CopyFrom(_now())
    return updated


@dataclasses.dataclass
class _Lease:
    owner: str
    token: int


class InMemoryLeaseRepository:
    """Router leases and the run leases held under them, as the state service keeps
    them (airspace.state.rules.leases): a run's lease is live while its router's is."""

    def __init__(self, runs: Callable[[], Iterable[run_pb2.Run]]) -> None:
        self._runs = runs
        self._routers: dict[str, tuple[int, float]] = {}  # id: (epoch, expires)
        self._leases: dict[str, _Lease] = {}
        self.writes: collections.Counter[str] = collections.Counter()

    def router_live(self, router_id: str, epoch: int = 0) -> bool:
        held_epoch, expires = self._routers.get(router_id, (0, 0.0))
        return expires > time.monotonic() and (not epoch or held_epoch == epoch)

    def held(self, run_id: str, by: str = "", token: int = 0) -> bool:
        lease = self._leases.get(run_id)
        if lease is None or not self.router_live(lease.owner):
            return False
        return (not by or lease.owner == by) and (not token or lease.token == token)

    def expire(self, router_id: str) -> None:
        """Lets the router's lease lapse now, as when it stalls past its time-to-live."""
        epoch, _ = self._routers[router_id]
        self._routers[router_id] = (epoch, 0.0)

    def check_live(self, router_id: str, epoch: int) -> None:
        if not self.router_live(router_id, epoch):
            raise errors.FailedPrecondition(
                f"router {router_id!r} holds no live router lease of epoch {epoch}",
                reason=Reason.LEASE_NOT_HELD,
            )

    async def register(self, router_id: str, ttl_seconds: float) -> int:
        epoch = self._routers.get(router_id, (0, 0.0))[0] + 1
        self._routers[router_id] = (epoch, time.monotonic() + ttl_seconds)
        for lease in self._leases.values():
            if lease.owner == router_id:
                lease.owner = ""
        return epoch

    async def renew(self, router_id: str, epoch: int, ttl_seconds: float, retry_for: float) -> bool:
        self.check_live(router_id, epoch)
        self._routers[router_id] = (epoch, time.monotonic() + ttl_seconds)
        return any(
            not self.router_live(lease.owner) and lease.owner for lease in self._leases.values()
        )

    async def deregister(self, router_id: str, epoch: int) -> None:
        if self._routers.get(router_id, (0, 0.0))[0] == epoch:
            self._routers[router_id] = (epoch, 0.0)

    def _grant(self, run_id: str, router_id: str) -> LeaseGrant | None:
        lease = self._leases.get(run_id)
        if lease is None:
            self._leases[run_id] = _Lease(router_id, 1)
            return LeaseGrant(1)
        if self.router_live(lease.owner):
            return LeaseGrant(lease.token) if lease.owner == router_id else None
        previous = lease.owner if lease.owner != router_id else ""
        lease.owner, lease.token = router_id, lease.token + 1
        return LeaseGrant(lease.token, previous)

    def first_grant(self, run_id: str, claim: RunClaim) -> LeaseGrant | None:
        """The lease of a run just created, for the router claiming it while it is live."""
        if not self.router_live(claim.router_id, claim.epoch):
            return None
        return self._grant(run_id, claim.router_id)

    def held_grant(self, run_id: str, claim: RunClaim) -> LeaseGrant | None:
        """The grant a repeated creation gets: only the one its router holds already."""
        lease = self._leases.get(run_id)
        if not self.router_live(claim.router_id, claim.epoch) or lease is None:
            return None
        return LeaseGrant(lease.token) if self.held(run_id, by=claim.router_id) else None

    def free(self, run_id: str) -> None:
        """Frees the lease of a run that ended; its token stays."""
        if run_id in self._leases:
            self._leases[run_id].owner = ""

    async def claim(self, run_id: str, router_id: str, epoch: int) -> LeaseGrant | None:
        self.writes["claim"] += 1
        self.check_live(router_id, epoch)
        return self._grant(run_id, router_id)

    async def claim_runs(
        self, router_id: str, epoch: int, min_age_seconds: float, limit: int
    ) -> builtins.list[ClaimedRun]:
        self.check_live(router_id, epoch)
        oldest = time.time() - min_age_seconds
        claimable = [
            run
            for run in self._runs()
            if run.state in (run_pb2.RUN_STATE_QUEUED, run_pb2.RUN_STATE_RUNNING)
            and not self.held(run.run_id)
            and (run.run_id in self._leases or run.create_time.ToSeconds() <= oldest)
        ][:limit]
        claimed = []
        for run in claimable:
            grant = self._grant(run.run_id, router_id)
            assert grant is not None  # none of these is held live
            claimed.append(ClaimedRun(_copy(run), grant))
        return claimed

    async def release(self, run_id: str, owner: str, token: int) -> None:
        self.writes["release"] += 1
        lease = self._leases.get(run_id)
        if lease is not None and lease.owner == owner and lease.token == token:
            lease.owner = ""


class InMemoryAuditOutbox:
    """The audit outbox: records by record_id, with the router each is kept under; a claim
    takes over those of routers whose lease is not live, as the state service does."""

    def __init__(self, leases: InMemoryLeaseRepository) -> None:
        self._leases = leases
        self.entries: dict[str, tuple[str, policy_pb2.AuditRecord]] = {}
        self.removals = 0  # remove calls, each one write of the state service
        # Entries altered where they are kept: their seal no longer holds.
        self.altered: set[str] = set()

    def keep(self, router_id: str, records: Sequence[policy_pb2.AuditRecord]) -> None:
        for record in records:
            self.entries.setdefault(record.record_id, (router_id, _copy(record)))

    async def claim(self, router_id: str, epoch: int, limit: int) -> ClaimedOutbox:
        self._leases.check_live(router_id, epoch)
        for record_id, (owner, record) in self.entries.items():
            if owner != router_id and not self._leases.router_live(owner):
                self.entries[record_id] = (router_id, record)
        mine = [_copy(record) for owner, record in self.entries.values() if owner == router_id]
        return ClaimedOutbox.split(mine[:limit], lambda r: r.record_id not in self.altered)

    async def remove(self, record_ids: Sequence[str]) -> None:
        self.removals += 1
        for record_id in record_ids:
            self.entries.pop(record_id, None)


class InMemoryApprovalRepository:
    def __init__(self) -> None:
        self._approvals: dict[tuple[str, str], approval_pb2.Approval] = {}

    def _find(self, tenant: str, approval_id: str) -> approval_pb2.Approval:
        found = self._approvals.get((tenant, approval_id))
        if found is None:
            raise errors.NotFound(f"approval {approval_id!r} not found")
        return found

    async def create(self, approval: approval_pb2.Approval) -> approval_pb2.Approval:
        key = (approval.tenant, approval.approval_id)
        if key not in self._approvals:
            created = _copy(approval)
            created.state = approval_pb2.APPROVAL_STATE_PENDING
            self._approvals[key] = created
        return _copy(self._approvals[key])

    async def get(self, tenant: str, approval_id: str) -> approval_pb2.Approval:
        return _copy(self._find(tenant, approval_id))

    async def list(
        self,
        tenant: str,
        page: PageRequest,
        *,
        state: approval_pb2.ApprovalState = approval_pb2.APPROVAL_STATE_UNSPECIFIED,
        roles: Sequence[str] = (),
        run_id: str = "",
    ) -> Page[approval_pb2.Approval]:
        found = [
            a
            for (owner, _), a in self._approvals.items()
            if owner == tenant
            and (not state or a.state == state)
            and (not roles or a.required_role in roles)
            and (not run_id or a.run_id == run_id)
        ]
        return _page(found, page)

    async def list_due(
        self, due_before_micros: int, limit: int
    ) -> builtins.list[approval_pb2.Approval]:
        due = [
            _copy(a)
            for a in self._approvals.values()
            if a.state == approval_pb2.APPROVAL_STATE_PENDING
            and a.HasField("expire_time")
            and a.expire_time.ToMicroseconds() <= due_before_micros
        ]
        return due[:limit]

    async def decide(
        self, tenant: str, approval_id: str, decision: Decision
    ) -> approval_pb2.Approval:
        approval = self._find(tenant, approval_id)
        if approval.state != approval_pb2.APPROVAL_STATE_PENDING:
            raise errors.FailedPrecondition(
                f"approval {approval_id!r} was already decided",
                reason=Reason.APPROVAL_ALREADY_DECIDED,
            )
        approval.outcome = decision.outcome
        approval.decided_by = decision.decided_by
        approval.comment = decision.comment
        if decision.edited_payload is not None:
            approval.edited_payload.CopyFrom(decision.edited_payload)
        expired = decision.outcome == run_pb2.APPROVAL_OUTCOME_EXPIRED
        approval.state = (
            approval_pb2.APPROVAL_STATE_EXPIRED if expired else approval_pb2.APPROVAL_STATE_DECIDED
        )
        return _copy(approval)


class InMemoryWorkflowRepository:
    """Counts its reads (`reads`); announces its changes to `changes` when given."""

    def __init__(self, changes: InMemoryRegistryChanges | None = None) -> None:
        self._versions: dict[tuple[str, str], list[workflow_pb2.Workflow]] = {}
        self._changes = changes
        self.reads = 0

    async def put(self, workflow: workflow_pb2.Workflow) -> tuple[workflow_pb2.Workflow, bool]:
        versions = self._versions.setdefault((workflow.tenant, workflow.workflow), [])
        if versions and versions[-1].etag == workflow.etag:
            return _copy(versions[-1]), False
        stored = _copy(workflow)
        stored.version = len(versions) + 1
        versions.append(stored)
        self._announce(workflow.tenant, workflow.workflow)
        return _copy(stored), True

    async def get(self, tenant: str, name: str, version: int = 0) -> workflow_pb2.Workflow:
        self.reads += 1
        versions = self._versions.get((tenant, name), [])
        if not versions or version > len(versions):
            raise errors.NotFound(f"workflow {name!r} not found")
        return _copy(versions[version - 1 if version else -1])

    async def list(self, tenant: str, page: PageRequest) -> Page[workflow_pb2.Workflow]:
        self.reads += 1
        latest = [v[-1] for (owner, _), v in sorted(self._versions.items()) if owner == tenant]
        return _page(latest, page)

    async def delete(self, tenant: str, name: str) -> None:
        if self._versions.pop((tenant, name), None) is None:
            raise errors.NotFound(f"workflow {name!r} not found")
        self._announce(tenant, name)

    def _announce(self, tenant: str, name: str) -> None:
        if self._changes is not None:
            self._changes.announce(state_pb2.REGISTRY_KIND_WORKFLOW, tenant, name)


class InMemoryAgentRepository:
    """Counts its reads (`reads`); announces its changes to `changes` when given."""

    def __init__(self, changes: InMemoryRegistryChanges | None = None) -> None:
        self._agents: dict[tuple[str, str], agent_registry_pb2.Agent] = {}
        self._changes = changes
        self.reads = 0

    async def put(self, agent: agent_registry_pb2.Agent) -> agent_registry_pb2.Agent:
        self._agents[(agent.tenant, agent.agent)] = _copy(agent)
        self._announce(agent.tenant, agent.agent)
        return _copy(agent)

    async def get(self, tenant: str, name: str) -> agent_registry_pb2.Agent:
        self.reads += 1
        found = self._agents.get((tenant, name))
        if found is None:
            raise errors.NotFound(f"agent {name!r} not found")
        return _copy(found)

    async def list(self, tenant: str, page: PageRequest) -> Page[agent_registry_pb2.Agent]:
        self.reads += 1
        agents = [a for (owner, _), a in sorted(self._agents.items()) if owner == tenant]
        return _page(agents, page)

    async def delete(self, tenant: str, name: str) -> None:
        if self._agents.pop((tenant, name), None) is None:
            raise errors.NotFound(f"agent {name!r} not found")
        self._announce(tenant, name)

    def _announce(self, tenant: str, name: str) -> None:
        if self._changes is not None:
            self._changes.announce(state_pb2.REGISTRY_KIND_AGENT, tenant, name)


class InMemoryMemoryRepository:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str, str], state_pb2.MemoryEntry] = {}

    def _find(self, tenant: str, namespace: str, key: str) -> state_pb2.MemoryEntry:
        found = self._entries.get((tenant, namespace, key))
        if found is None:
            raise errors.NotFound(f"memory key {key!r} not found in {namespace!r}")
        return found

    def _check_version(self, current: int, expected: int | None) -> None:
        if expected is not None and expected != current:
            raise errors.Aborted(
                f"the entry is at version {current}, not {expected}", reason=Reason.VERSION_MISMATCH
            )

    async def get(self, tenant: str, namespace: str, key: str) -> state_pb2.MemoryEntry:
        return _copy(self._find(tenant, namespace, key))

    async def put(
        self, tenant: str, namespace: str, key: str, write: MemoryWrite
    ) -> state_pb2.MemoryEntry:
        current = self._entries.get((tenant, namespace, key))
        self._check_version(current.version if current else 0, write.expected_version)
        entry = state_pb2.MemoryEntry(
            namespace=namespace, key=key, version=(current.version if current else 0) + 1
        )
        entry.value.CopyFrom(write.value)
        entry.update_time.CopyFrom(_now())
        self._entries[(tenant, namespace, key)] = entry
        return _copy(entry)

    async def delete(
        self, tenant: str, namespace: str, key: str, expected_version: int | None
    ) -> None:
        self._check_version(self._find(tenant, namespace, key).version, expected_version)
        del self._entries[(tenant, namespace, key)]

    async def list(
        self, tenant: str, namespace: str, key_prefix: str, page: PageRequest
    ) -> Page[state_pb2.MemoryEntry]:
        entries = [
            e
            for (owner, space, key), e in sorted(self._entries.items())
            if (owner, space) == (tenant, namespace) and key.startswith(key_prefix)
        ]
        return _page(entries, page)


class InMemoryPolicyDecisions:
    """Verdicts per checkpoint (ALLOW where none is set); every check and audit kept."""

    def __init__(self) -> None:
        self.verdicts: dict[str, policy.Decision] = {}
        self.checks: list[policy.CheckInput] = []
        self.audited: list[AuditEvent] = []
        # Records meant for the outbox that were made durable on their own instead.
        self.stored: list[policy_pb2.AuditRecord] = []

    async def check(
        self, check: policy.CheckInput, carrier: AuditCarrier | None = None
    ) -> policy.Decision:
        self.checks.append(check)
        decided = self.verdicts.get(check.checkpoint) or decision(
            policy.Verdict.ALLOW, decision_id=f"decision-{len(self.checks)}"
        )
        if carrier is not None:
            carrier.carry(
                policy_pb2.AuditRecord(
                    kind="policy.decision",
                    run_id=check.run_id,
                    decision_id=decided.decision_id,
                    record_id=f"record-{len(self.checks)}",
                )
            )
        return decided

    async def record_audit(self, event: AuditEvent) -> None:
        self.audited.append(event)

    def outbox_record(self, event: AuditEvent) -> policy_pb2.AuditRecord:
        self.audited.append(event)
        return policy_pb2.AuditRecord(
            kind=event.kind, run_id=event.run_id, record_id=f"event-{len(self.audited)}"
        )

    async def store(self, records: Sequence[policy_pb2.AuditRecord]) -> None:
        self.stored.extend(records)


def decision(
    verdict: policy.Verdict,
    *reasons: policy.Reason,
    decision_id: str = "decision",
    approver_role: str = "",
) -> policy.Decision:
    """A decision as the engine makes them, for tests to set as a checkpoint's verdict."""
    return policy.Decision(
        decision_id=decision_id,
        checkpoint="",
        verdict=verdict,
        evaluated_verdict=verdict,
        reasons=reasons,
        obligations=(),
        bundle_version="test",
        dry_run=False,
        approver_role=approver_role,
    )


class _Streams(Generic[T]):
    """Streams a test feeds: `send` reaches every open stream; `cut` breaks them and
    keeps new ones from opening until `restore`."""

    def __init__(self, service: str) -> None:
        self.opened = 0
        self._service = service
        self._reachable = True
        self._streams: list[asyncio.Queue[T | None]] = []

    def send(self, sent: T) -> None:
        for stream in self._streams:
            stream.put_nowait(sent)

    def cut(self) -> None:
        self._reachable = False
        for stream in self._streams:
            stream.put_nowait(None)

    def restore(self) -> None:
        self._reachable = True

    def pending(self) -> int:
        """Messages sent that a stream's reader has not taken yet."""
        return sum(stream.qsize() for stream in self._streams)

    async def _stream(self, first: Iterable[T]) -> AsyncIterator[T]:
        """`first` when it opens, then what is sent, until it is cut."""
        if not self._reachable:
            raise errors.Unavailable(f"the {self._service} is unreachable")
        self.opened += 1
        stream: asyncio.Queue[T | None] = asyncio.Queue()
        for opening in first:
            stream.put_nowait(opening)
        self._streams.append(stream)
        try:
            while (sent := await stream.get()) is not None:
                yield sent
        finally:
            self._streams.remove(stream)
        raise errors.Unavailable("the stream broke")


class InMemoryBundleSource(_Streams[policy_pb2.WatchBundleResponse]):
    """Bundles a test publishes, streamed as the policy service would; `keepalive` says
    every open stream is alive."""

    def __init__(self) -> None:
        super().__init__("policy service")
        self.latest: policy_pb2.WatchBundleResponse | None = None

    def publish(self, bundle: policy_pb2.WatchBundleResponse) -> None:
        self.latest = bundle
        self.send(bundle)

    def keepalive(self) -> None:
        self.send(policy_pb2.WatchBundleResponse(keepalive=True))

    def watch(self) -> AsyncIterator[policy_pb2.WatchBundleResponse]:
        return self._stream([] if self.latest is None else [self.latest])


class InMemoryRegistryChanges(_Streams[state_pb2.WatchRegistryResponse]):
    """The registry watch, live as soon as it opens; the in-memory workflow and agent
    repositories given it announce their changes, as the state service does."""

    def __init__(self) -> None:
        super().__init__("state service")

    def announce(self, kind: state_pb2.RegistryKind, tenant: str, name: str) -> None:
        change = state_pb2.RegistryChange(kind=kind, tenant=tenant, name=name)
        self.send(state_pb2.WatchRegistryResponse(change=change))

    def watch(self) -> AsyncIterator[state_pb2.WatchRegistryResponse]:
        return self._stream([state_pb2.WatchRegistryResponse(live=state_pb2.RegistryWatchLive())])


class InMemoryAuditSink:
    """Every batch sent, in order, and the records acknowledged durable; a test can hold
    acknowledgements back (`release.clear()`) or fail them (`failing`)."""

    def __init__(self) -> None:
        self.batches: list[list[policy_pb2.AuditRecord]] = []
        self.request_ids: list[str] = []  # of each batch sent
        self.durable: list[policy_pb2.AuditRecord] = []
        self.release = asyncio.Event()
        self.release.set()
        self.failing = False

    async def append(self, records: Sequence[policy_pb2.AuditRecord], request_id: str) -> None:
        self.batches.append([_copy(record) for record in records])
        self.request_ids.append(request_id)
        await self.release.wait()
        if self.failing:
            raise errors.Unavailable("the audit log cannot be written")
        self.durable.extend(_copy(record) for record in records)


class InMemoryTraceQueries:
    async def run_trace(self, run_id: str) -> trace_pb2.GetRunTraceResponse:
        return trace_pb2.GetRunTraceResponse()


def in_memory_repositories() -> Repositories:
    runs = InMemoryRunRepository()
    return Repositories(
        runs=runs,
        leases=runs.leases,
        approvals=InMemoryApprovalRepository(),
        workflows=InMemoryWorkflowRepository(),
        agents=InMemoryAgentRepository(),
        memory=InMemoryMemoryRepository(),
        policy=InMemoryPolicyDecisions(),
        traces=InMemoryTraceQueries(),
        outbox=runs.outbox,
        audit_log=InMemoryAuditSink(),
    )
