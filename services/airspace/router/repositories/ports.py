"""What the router's domain needs from the services that hold its data, as typed interfaces.

The router owns no data: runs, approvals, workflows, agents and memory live in the state
service, policy decisions and the audit log in the policy service, spans in the trace
collector. The domain talks to these interfaces only; `grpc_repositories` implements
them over the mesh and `in_memory` implements them for unit tests. Resources are the
contract's messages (a Run, an Approval …); every refusal is a `airspace.mesh.errors`
domain error, the same from either implementation.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

from google.protobuf import struct_pb2

from airspace.policy.engine import model as policy
from airspace.policy.v1 import policy_pb2
from airspace.state.v1 import state_pb2
from airspace.trace.v1 import trace_pb2
from airspace.v1 import agent_registry_pb2, approval_pb2, run_pb2, workflow_pb2

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class PageRequest:
    """AIP-158 paging: at most `size` items (0: the service's default) after `token`."""

    size: int = 0
    token: str = ""


@dataclasses.dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str = ""


@dataclasses.dataclass(frozen=True)
class Appended:
    """An append's outcome: the log's last sequence, and the run when the append updated it."""

    last_sequence: int
    run: run_pb2.Run | None = None


@dataclasses.dataclass(frozen=True)
class Pruned:
    runs: int
    events: int
    journal_entries: int
    more: bool


@dataclasses.dataclass(frozen=True)
class RunChange:
    """Fields of a run set together with an append (those set in `run`), if the run is
    still in one of `expected_states` (any state when empty)."""

    run: run_pb2.Run
    expected_states: Sequence[run_pb2.RunState] = ()


@dataclasses.dataclass(frozen=True)
class LeaseGrant:
    """A run's lease held: the fencing token every write under it carries, and the
    router whose lapsed lease it took over ("" when none)."""

    token: int
    previous_owner: str = ""


@dataclasses.dataclass(frozen=True)
class RunClaim:
    """A router claiming the run it creates, under its registration's epoch."""

    router_id: str
    epoch: int


@dataclasses.dataclass(frozen=True)
class CreatedRun:
    run: run_pb2.Run
    # False when the request_id was seen before: `run` is the first request's run.
    created: bool
    # The run's lease when the creation claimed it.
    grant: LeaseGrant | None = None


class RunRepository(Protocol):
    """Runs with their append-only event log and step journal."""

    async def create(
        self,
        run: run_pb2.Run,
        request_digest: str = "",
        claim: RunClaim | None = None,
        audit: Sequence[policy_pb2.AuditRecord] = (),
    ) -> CreatedRun:
        """Stores a new run; a repeated request_id returns the first run, not created, or
        is refused (ALREADY_EXISTS REQUEST_ID_REUSED) when the first had another digest.
        With a claim, the run is leased to that router in the same transaction while its
        router lease is live; a repeated request gets only the grant the router holds
        already (the first reply was lost), never a new one. A created run's audit
        records go to the audit outbox in its transaction."""
        ...

    async def get(self, tenant: str, run_id: str) -> run_pb2.Run: ...

    async def list(
        self,
        tenant: str,
        page: PageRequest,
        *,
        workflow: str = "",
        state: run_pb2.RunState = run_pb2.RUN_STATE_UNSPECIFIED,
    ) -> Page[run_pb2.Run]: ...

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
        """Appends events (with journal entries, a change of the run and audit records for
        the audit outbox, under `lease_owner`) in one transaction,
        right after `expected_last_sequence` (else Aborted SEQUENCE_MISMATCH, with the
        log's last sequence in its metadata), while `lease_owner` holds the run's lease
        under the grant `lease_token` names (else FailedPrecondition LEASE_NOT_HELD).
        A change that ends the run frees its lease in the same transaction."""
        ...

    async def events(
        self, tenant: str, run_id: str, after_sequence: int, limit: int
    ) -> builtins.list[run_pb2.RunEvent]: ...

    def watch(
        self, tenant: str, run_id: str, after_sequence: int, timeout: float
    ) -> AsyncIterator[run_pb2.RunEvent]:
        """The events after the cursor, then live ones until the run ends."""
        ...

    async def journal(self, tenant: str, run_id: str) -> builtins.list[state_pb2.JournalEntry]: ...

    async def prune(
        self, tenant: str, finished_before_micros: int, *, validate_only: bool, limit: int
    ) -> Pruned: ...


@dataclasses.dataclass(frozen=True)
class ClaimedRun:
    run: run_pb2.Run
    grant: LeaseGrant


class LeaseRepository(Protocol):
    """Who executes a run: the router holding its lease, live while that router's own
    lease is. A router registers (an epoch), renews its lease with one call for all its
    runs, and claims runs under it; every refusal of a lapsed router lease, or of an
    epoch a later registration ended, is FailedPrecondition LEASE_NOT_HELD."""

    async def register(self, router_id: str, ttl_seconds: float) -> int:
        """Starts the router's next epoch (returned); frees the runs it held before."""
        ...

    async def renew(self, router_id: str, epoch: int, ttl_seconds: float, retry_for: float) -> bool:
        """Renews the router lease; returns whether a takeover is pending (another
        router's lease lapsed with unfinished runs under it)."""
        ...

    async def deregister(self, router_id: str, epoch: int) -> None:
        """Lets the router lease lapse now, for others to take its runs over at once."""
        ...

    async def claim(self, run_id: str, router_id: str, epoch: int) -> LeaseGrant | None:
        """Takes the run's lease; None while another live router holds it."""
        ...

    async def claim_runs(
        self, router_id: str, epoch: int, min_age_seconds: float, limit: int
    ) -> builtins.list[ClaimedRun]:
        """Takes the unfinished runs nobody holds live (unleased ones only once older
        than `min_age_seconds`), in one transaction."""
        ...

    async def release(self, run_id: str, owner: str, token: int) -> None:
        """Frees the run's lease if it is still held under that grant."""
        ...


@dataclasses.dataclass(frozen=True)
class Decision:
    """A person's (or the router's, on expiry) decision of an approval."""

    outcome: run_pb2.ApprovalOutcome
    decided_by: str
    comment: str = ""
    edited_payload: struct_pb2.Struct | None = None


class ApprovalRepository(Protocol):
    async def create(self, approval: approval_pb2.Approval) -> approval_pb2.Approval: ...

    async def get(self, tenant: str, approval_id: str) -> approval_pb2.Approval: ...

    async def list(
        self,
        tenant: str,
        page: PageRequest,
        *,
        state: approval_pb2.ApprovalState = approval_pb2.APPROVAL_STATE_UNSPECIFIED,
        roles: Sequence[str] = (),
        run_id: str = "",
    ) -> Page[approval_pb2.Approval]: ...

    async def list_due(
        self, due_before_micros: int, limit: int
    ) -> builtins.list[approval_pb2.Approval]:
        """Pending approvals of every tenant whose deadline passed."""
        ...

    async def decide(
        self, tenant: str, approval_id: str, decision: Decision
    ) -> approval_pb2.Approval:
        """Decides a pending approval (FailedPrecondition when it was decided already)."""
        ...


class WorkflowRepository(Protocol):
    async def put(self, workflow: workflow_pb2.Workflow) -> tuple[workflow_pb2.Workflow, bool]:
        """Stores a new version (or finds the same document); True when it was new."""
        ...

    async def get(self, tenant: str, name: str, version: int = 0) -> workflow_pb2.Workflow:
        """A version of the workflow (0: the latest)."""
        ...

    async def list(self, tenant: str, page: PageRequest) -> Page[workflow_pb2.Workflow]: ...

    async def delete(self, tenant: str, name: str) -> None: ...


class AgentRepository(Protocol):
    async def put(self, agent: agent_registry_pb2.Agent) -> agent_registry_pb2.Agent: ...

    async def get(self, tenant: str, name: str) -> agent_registry_pb2.Agent: ...

    async def list(self, tenant: str, page: PageRequest) -> Page[agent_registry_pb2.Agent]: ...

    async def delete(self, tenant: str, name: str) -> None: ...


@dataclasses.dataclass(frozen=True)
class MemoryWrite:
    """A write of shared memory: compare-and-set on `expected_version` when it is set."""

    value: struct_pb2.Value
    expected_version: int | None = None
    ttl_seconds: float | None = None
    request_id: str = ""


class MemoryRepository(Protocol):
    """Shared memory: namespaced keys with versions."""

    async def get(self, tenant: str, namespace: str, key: str) -> state_pb2.MemoryEntry: ...

    async def put(
        self, tenant: str, namespace: str, key: str, write: MemoryWrite
    ) -> state_pb2.MemoryEntry: ...

    async def delete(
        self, tenant: str, namespace: str, key: str, expected_version: int | None
    ) -> None: ...

    async def list(
        self, tenant: str, namespace: str, key_prefix: str, page: PageRequest
    ) -> Page[state_pb2.MemoryEntry]: ...


@dataclasses.dataclass(frozen=True)
class AuditEvent:
    """Something that happened to a run (its lifecycle, a person's decision), for the
    audit log; `details` may hold free text, which the log masks."""

    kind: str
    subject: policy.Subject
    run_id: str
    details: Mapping[str, Any]


class AuditCarrier(Protocol):
    """A write to come that audit records ride with: a run's log (run_log.py)."""

    def carry(self, record: policy_pb2.AuditRecord) -> None: ...


class AuditStored(Protocol):
    """Told of the audit records a write stored in the audit outbox, to relay them."""

    def stored(self, records: Sequence[policy_pb2.AuditRecord]) -> None: ...


class PolicyDecisions(Protocol):
    """Decisions on checks, and the audit log, in the policy engine's own terms: the
    router decides in process, so nothing here passes through a protobuf (but records
    bound for the audit outbox)."""

    async def check(
        self, check: policy.CheckInput, carrier: AuditCarrier | None = None
    ) -> policy.Decision:
        """A decision, returned once its audit record is durable: the caller may act on
        it at once. With a carrier, the record is handed to it instead, to be stored with
        the carrier's next write, which the caller makes before the change the decision
        authorizes takes effect; a record holding vault tokens is made durable all the
        same (token values never go to state)."""
        ...

    async def record_audit(self, event: AuditEvent) -> None:
        """Records an event with no state change to ride with; returns once durable."""
        ...

    def outbox_record(self, event: AuditEvent) -> policy_pb2.AuditRecord:
        """The event's record for the audit outbox, masked and with its record_id: stored
        with the change it describes, in the same transaction."""
        ...

    async def store(self, records: Sequence[policy_pb2.AuditRecord]) -> None:
        """Makes records meant for the outbox durable in the audit log itself: those of a
        write that did not happen, or may not have. Each is appended once under its
        record_id, so one the outbox holds after all is not appended again."""
        ...


class BundleSource(Protocol):
    """The policy service's active bundle, as a stream: the bundle when it opens, then
    each one a reload activates."""

    def watch(self) -> AsyncIterator[policy_pb2.WatchBundleResponse]:
        """Ends or raises a domain error when the stream breaks."""
        ...


class RegistryChangeSource(Protocol):
    """The state service's registry watch: a message that it is live when it opens,
    then one per change of a workflow or an agent registration."""

    def watch(self) -> AsyncIterator[state_pb2.WatchRegistryResponse]:
        """Ends or raises a domain error when the stream breaks."""
        ...


@dataclasses.dataclass(frozen=True)
class ClaimedOutbox:
    """Entries of the audit outbox a router claimed: the records as their routers stored
    them, and those whose seal does not hold (altered or added where they are kept)."""

    records: builtins.list[policy_pb2.AuditRecord]
    rejected: builtins.list[policy_pb2.AuditRecord] = dataclasses.field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records) + len(self.rejected)

    @classmethod
    def split(
        cls,
        records: Iterable[policy_pb2.AuditRecord],
        intact: Callable[[policy_pb2.AuditRecord], bool],
    ) -> ClaimedOutbox:
        """The records, each with the intact ones or with the rejected ones."""
        claimed = cls([], [])
        for record in records:
            (claimed.records if intact(record) else claimed.rejected).append(record)
        return claimed


class AuditOutboxRepository(Protocol):
    """The state service's audit outbox (see audit_relay.py)."""

    async def claim(self, router_id: str, epoch: int, limit: int) -> ClaimedOutbox:
        """Takes over the entries of routers whose lease lapsed, and returns up to `limit`
        of this router's, oldest first."""
        ...

    async def remove(self, record_ids: Sequence[str]) -> None:
        """Removes entries the audit log holds now."""
        ...


class AuditSink(Protocol):
    """The policy service's audit log, written a batch at a time."""

    async def append(self, records: Sequence[policy_pb2.AuditRecord], request_id: str) -> None:
        """Returns once every record is durable (and the values behind its tokens kept);
        a batch sent again with the same `request_id` is appended once."""
        ...


class TraceQueries(Protocol):
    async def run_trace(self, run_id: str) -> trace_pb2.GetRunTraceResponse: ...


@dataclasses.dataclass(frozen=True)
class Repositories:
    """Everything the router reads and writes, in one place to hand to its domain."""

    runs: RunRepository
    leases: LeaseRepository
    approvals: ApprovalRepository
    workflows: WorkflowRepository
    agents: AgentRepository
    memory: MemoryRepository
    policy: PolicyDecisions
    traces: TraceQueries
    outbox: AuditOutboxRepository
    # The policy service's audit log, for the records relayed from the outbox.
    audit_log: AuditSink
