"""The router's repositories over the mesh: the state, policy and trace services' stubs.

Each method is one call through `clients.call`, which rides out a restarting service
and turns its status into the matching domain error; the runs' creates and appends go
through `RunWrites`, batched with those of the other runs in flight.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Sequence
from typing import TypeVar

import grpc
from google.protobuf import field_mask_pb2, timestamp_pb2

from airspace.mesh import channels, deadlines, errors
from airspace.policy.v1 import policy_pb2, policy_pb2_grpc
from airspace.router.clients import call
from airspace.router.convert import to_duration
from airspace.router.local_policy.audit_batcher import AuditBatcher
from airspace.router.local_policy.bundle_feed import BundleFeed
from airspace.router.local_policy.decisions import LocalPolicyDecisions
from airspace.router.registry_cache.wiring import cached_registry
from airspace.router.repositories.outbox_seal import OutboxSeal
from airspace.router.repositories.ports import (
    Appended,
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
from airspace.router.repositories.run_writes import RunWrites
from airspace.router.settings import RouterSettings
from airspace.state.v1 import state_pb2, state_pb2_grpc
from airspace.trace.v1 import trace_pb2, trace_pb2_grpc
from airspace.v1 import agent_registry_pb2, approval_pb2, run_pb2, workflow_pb2

State = state_pb2_grpc.StateServiceStub
Request = TypeVar("Request")
Response = TypeVar("Response")


def _timestamp(micros: int) -> timestamp_pb2.Timestamp:
    value = timestamp_pb2.Timestamp()
    value.FromMicroseconds(micros)
    return value


class GrpcRunRepository:
    def __init__(self, state: State, writes: RunWrites, seal: OutboxSeal):
        self._state = state
        self._writes = writes  # creates and appends, batched with other runs'
        self._seal = seal  # on the records stored in the audit outbox

    async def create(
        self,
        run: run_pb2.Run,
        request_digest: str = "",
        claim: RunClaim | None = None,
        audit: Sequence[policy_pb2.AuditRecord] = (),
    ) -> CreatedRun:
        self._seal.seal(audit)
        request = state_pb2.CreateRunRequest(
            run=run, request_digest=request_digest, audit_records=audit
        )
        if claim is not None:
            request.claim.router_id, request.claim.epoch = claim.router_id, claim.epoch
        created = await self._writes.create(request)
        grant = LeaseGrant(created.fencing_token) if created.fencing_token else None
        return CreatedRun(created.run, created.created, grant)

    async def get(self, tenant: str, run_id: str) -> run_pb2.Run:
        request = state_pb2.GetRunRequest(tenant=tenant, run_id=run_id)
        response: state_pb2.GetRunResponse = await call(self._state.GetRun, request)
        return response.run

    async def list(
        self,
        tenant: str,
        page: PageRequest,
        *,
        workflow: str = "",
        state: run_pb2.RunState = run_pb2.RUN_STATE_UNSPECIFIED,
    ) -> Page[run_pb2.Run]:
        request = state_pb2.ListRunsRequest(
            tenant=tenant,
            page_size=page.size,
            page_token=page.token,
            workflow=workflow,
            state=state,
        )
        listed: state_pb2.ListRunsResponse = await call(self._state.ListRuns, request)
        return Page(list(listed.runs), listed.next_page_token)

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
        self._seal.seal(audit)
        request = state_pb2.AppendEventsRequest(
            tenant=tenant,
            run_id=run_id,
            events=events,
            journal_entries=journal,
            expected_last_sequence=expected_last_sequence,
            lease_owner=lease_owner,
            lease_token=lease_token,
            run_update=_run_update(change) if change is not None else None,
            audit_records=audit,
        )
        response = await self._writes.append(request)
        return Appended(response.last_sequence, response.run if response.HasField("run") else None)

    async def events(
        self, tenant: str, run_id: str, after_sequence: int, limit: int
    ) -> builtins.list[run_pb2.RunEvent]:
        request = state_pb2.ListEventsRequest(
            tenant=tenant, run_id=run_id, after_sequence=after_sequence, page_size=limit
        )
        response: state_pb2.ListEventsResponse = await call(self._state.ListEvents, request)
        return list(response.events)

    async def watch(
        self, tenant: str, run_id: str, after_sequence: int, timeout: float
    ) -> AsyncIterator[run_pb2.RunEvent]:
        stream = self._state.WatchEvents(
            state_pb2.WatchEventsRequest(
                tenant=tenant, run_id=run_id, after_sequence=after_sequence
            ),
            timeout=deadlines.timeout_for(timeout, timeout),
        )
        try:
            async for run_event in stream:
                yield run_event
        except grpc.aio.AioRpcError as exc:
            raise errors.from_rpc_error(exc) from exc

    async def journal(self, tenant: str, run_id: str) -> builtins.list[state_pb2.JournalEntry]:
        request = state_pb2.GetJournalRequest(tenant=tenant, run_id=run_id)
        response: state_pb2.GetJournalResponse = await call(self._state.GetJournal, request)
        return list(response.entries)

    async def prune(
        self, tenant: str, finished_before_micros: int, *, validate_only: bool, limit: int
    ) -> Pruned:
        request = state_pb2.PruneRunsRequest(
            tenant=tenant,
            finished_before=_timestamp(finished_before_micros),
            validate_only=validate_only,
            page_size=limit,
        )
        pruned: state_pb2.PruneRunsResponse = await call(self._state.PruneRuns, request)
        return Pruned(
            pruned.pruned_runs, pruned.deleted_events, pruned.deleted_journal_entries, pruned.more
        )


def _run_update(change: RunChange) -> state_pb2.RunUpdate:
    paths = [field.name for field, _ in change.run.ListFields() if field.name != "run_id"]
    return state_pb2.RunUpdate(
        run=change.run,
        update_mask=field_mask_pb2.FieldMask(paths=paths),
        expected_states=change.expected_states,
    )


class GrpcLeaseRepository:
    def __init__(self, state: State):
        self._state = state

    async def register(self, router_id: str, ttl_seconds: float) -> int:
        request = state_pb2.RegisterRouterRequest(router_id=router_id, ttl=to_duration(ttl_seconds))
        response: state_pb2.RegisterRouterResponse = await call(self._state.RegisterRouter, request)
        return response.epoch

    async def renew(self, router_id: str, epoch: int, ttl_seconds: float, retry_for: float) -> bool:
        request = state_pb2.RenewRouterLeaseRequest(
            router_id=router_id, epoch=epoch, ttl=to_duration(ttl_seconds)
        )
        response: state_pb2.RenewRouterLeaseResponse = await call(
            self._state.RenewRouterLease, request, retry_for=retry_for, timeout=retry_for
        )
        return response.takeover_pending

    async def deregister(self, router_id: str, epoch: int) -> None:
        request = state_pb2.DeregisterRouterRequest(router_id=router_id, epoch=epoch)
        await call(self._state.DeregisterRouter, request, retry_for=1.0)

    async def claim(self, run_id: str, router_id: str, epoch: int) -> LeaseGrant | None:
        request = state_pb2.ClaimRunRequest(run_id=run_id, router_id=router_id, epoch=epoch)
        response: state_pb2.ClaimRunResponse = await call(self._state.ClaimRun, request)
        if not response.acquired:
            return None
        return LeaseGrant(response.fencing_token, response.previous_owner)

    async def claim_runs(
        self, router_id: str, epoch: int, min_age_seconds: float, limit: int
    ) -> builtins.list[ClaimedRun]:
        request = state_pb2.ClaimRunsRequest(
            router_id=router_id,
            epoch=epoch,
            page_size=limit,
            min_age=to_duration(min_age_seconds),
        )
        response: state_pb2.ClaimRunsResponse = await call(self._state.ClaimRuns, request)
        return [
            ClaimedRun(claimed.run, LeaseGrant(claimed.fencing_token, claimed.previous_owner))
            for claimed in response.runs
        ]

    async def release(self, run_id: str, owner: str, token: int) -> None:
        request = state_pb2.ReleaseLeaseRequest(run_id=run_id, owner=owner, fencing_token=token)
        await call(self._state.ReleaseLease, request, retry_for=1.0)


class GrpcApprovalRepository:
    def __init__(self, state: State):
        self._state = state

    async def create(self, approval: approval_pb2.Approval) -> approval_pb2.Approval:
        request = state_pb2.CreateApprovalRequest(approval=approval)
        response: state_pb2.CreateApprovalResponse = await call(self._state.CreateApproval, request)
        return response.approval

    async def get(self, tenant: str, approval_id: str) -> approval_pb2.Approval:
        request = state_pb2.GetApprovalRequest(tenant=tenant, approval_id=approval_id)
        response: state_pb2.GetApprovalResponse = await call(self._state.GetApproval, request)
        return response.approval

    async def list(
        self,
        tenant: str,
        page: PageRequest,
        *,
        state: approval_pb2.ApprovalState = approval_pb2.APPROVAL_STATE_UNSPECIFIED,
        roles: Sequence[str] = (),
        run_id: str = "",
    ) -> Page[approval_pb2.Approval]:
        request = state_pb2.ListApprovalsRequest(
            tenant=tenant,
            state=state,
            roles=roles,
            run_id=run_id,
            page_size=page.size,
            page_token=page.token,
        )
        listed: state_pb2.ListApprovalsResponse = await call(self._state.ListApprovals, request)
        return Page(list(listed.approvals), listed.next_page_token)

    async def list_due(
        self, due_before_micros: int, limit: int
    ) -> builtins.list[approval_pb2.Approval]:
        request = state_pb2.ListDueApprovalsRequest(
            due_before=_timestamp(due_before_micros), page_size=limit
        )
        response: state_pb2.ListDueApprovalsResponse = await call(
            self._state.ListDueApprovals, request
        )
        return list(response.approvals)

    async def decide(
        self, tenant: str, approval_id: str, decision: Decision
    ) -> approval_pb2.Approval:
        request = state_pb2.DecideApprovalRequest(
            tenant=tenant,
            approval_id=approval_id,
            outcome=decision.outcome,
            decided_by=decision.decided_by,
            comment=decision.comment,
            edited_payload=decision.edited_payload,
        )
        response: state_pb2.DecideApprovalResponse = await call(self._state.DecideApproval, request)
        return response.approval


class GrpcWorkflowRepository:
    def __init__(self, state: State):
        self._state = state

    async def put(self, workflow: workflow_pb2.Workflow) -> tuple[workflow_pb2.Workflow, bool]:
        stored: state_pb2.PutWorkflowResponse = await call(
            self._state.PutWorkflow, state_pb2.PutWorkflowRequest(workflow=workflow)
        )
        return stored.workflow, stored.created

    async def get(self, tenant: str, name: str, version: int = 0) -> workflow_pb2.Workflow:
        request = state_pb2.GetWorkflowRequest(tenant=tenant, workflow=name, version=version)
        response: state_pb2.GetWorkflowResponse = await call(self._state.GetWorkflow, request)
        return response.workflow

    async def list(self, tenant: str, page: PageRequest) -> Page[workflow_pb2.Workflow]:
        request = state_pb2.ListWorkflowsRequest(
            tenant=tenant, page_size=page.size, page_token=page.token
        )
        listed: state_pb2.ListWorkflowsResponse = await call(self._state.ListWorkflows, request)
        return Page(list(listed.workflows), listed.next_page_token)

    async def delete(self, tenant: str, name: str) -> None:
        request = state_pb2.DeleteWorkflowRequest(tenant=tenant, workflow=name)
        await call(self._state.DeleteWorkflow, request)


class GrpcAgentRepository:
    def __init__(self, state: State):
        self._state = state

    async def put(self, agent: agent_registry_pb2.Agent) -> agent_registry_pb2.Agent:
        response: state_pb2.PutAgentResponse = await call(
            self._state.PutAgent, state_pb2.PutAgentRequest(agent=agent)
        )
        return response.agent

    async def get(self, tenant: str, name: str) -> agent_registry_pb2.Agent:
        request = state_pb2.GetAgentRequest(tenant=tenant, agent=name)
        response: state_pb2.GetAgentResponse = await call(self._state.GetAgent, request)
        return response.agent

    async def list(self, tenant: str, page: PageRequest) -> Page[agent_registry_pb2.Agent]:
        request = state_pb2.ListAgentsRequest(
            tenant=tenant, page_size=page.size, page_token=page.token
        )
        listed: state_pb2.ListAgentsResponse = await call(self._state.ListAgents, request)
        return Page(list(listed.agents), listed.next_page_token)

    async def delete(self, tenant: str, name: str) -> None:
        await call(self._state.DeleteAgent, state_pb2.DeleteAgentRequest(tenant=tenant, agent=name))


class GrpcMemoryRepository:
    def __init__(self, state: State):
        self._state = state

    async def get(self, tenant: str, namespace: str, key: str) -> state_pb2.MemoryEntry:
        request = state_pb2.GetMemoryRequest(tenant=tenant, namespace=namespace, key=key)
        response: state_pb2.GetMemoryResponse = await call(self._state.GetMemory, request)
        return response.entry

    async def put(
        self, tenant: str, namespace: str, key: str, write: MemoryWrite
    ) -> state_pb2.MemoryEntry:
        request = state_pb2.PutMemoryRequest(
            tenant=tenant,
            namespace=namespace,
            key=key,
            value=write.value,
            expected_version=write.expected_version,
            ttl=to_duration(write.ttl_seconds) if write.ttl_seconds is not None else None,
            request_id=write.request_id,
        )
        response: state_pb2.PutMemoryResponse = await call(self._state.PutMemory, request)
        return response.entry

    async def delete(
        self, tenant: str, namespace: str, key: str, expected_version: int | None
    ) -> None:
        request = state_pb2.DeleteMemoryRequest(
            tenant=tenant, namespace=namespace, key=key, expected_version=expected_version
        )
        await call(self._state.DeleteMemory, request)

    async def list(
        self, tenant: str, namespace: str, key_prefix: str, page: PageRequest
    ) -> Page[state_pb2.MemoryEntry]:
        request = state_pb2.ListMemoryRequest(
            tenant=tenant,
            namespace=namespace,
            key_prefix=key_prefix,
            page_size=page.size,
            page_token=page.token,
        )
        listed: state_pb2.ListMemoryResponse = await call(self._state.ListMemory, request)
        return Page(list(listed.entries), listed.next_page_token)


# A policy service that stays away longer than this costs an audit entry, not the run.
# A batch of audit records holds up the steps waiting on it: retry an unavailable
# policy service briefly, then let them fail closed.
AUDIT_RETRY_SECONDS = 5.0


# A bundle or registry stream is opened again after this long (a deadline no call may lack).
LONG_STREAM_SECONDS = 600.0


async def _long_stream(
    stream: grpc.aio.UnaryStreamCall[Request, Response],
) -> AsyncIterator[Response]:
    """The messages of a stream that is followed for long; its failure as a domain error."""
    try:
        async for message in stream:
            yield message
    except grpc.aio.AioRpcError as exc:
        raise errors.from_rpc_error(exc) from exc
    finally:
        stream.cancel()


class GrpcBundleSource:
    def __init__(self, policy: policy_pb2_grpc.PolicyServiceStub):
        self._policy = policy

    def watch(self) -> AsyncIterator[policy_pb2.WatchBundleResponse]:
        request = policy_pb2.WatchBundleRequest()
        return _long_stream(self._policy.WatchBundle(request, timeout=LONG_STREAM_SECONDS))


class GrpcRegistryChangeSource:
    def __init__(self, state: State):
        self._state = state

    def watch(self) -> AsyncIterator[state_pb2.WatchRegistryResponse]:
        request = state_pb2.WatchRegistryRequest()
        return _long_stream(self._state.WatchRegistry(request, timeout=LONG_STREAM_SECONDS))


class GrpcAuditOutbox:
    def __init__(self, state: State, seal: OutboxSeal):
        self._state = state
        self._seal = seal

    async def claim(self, router_id: str, epoch: int, limit: int) -> ClaimedOutbox:
        request = state_pb2.ClaimAuditOutboxRequest(
            router_id=router_id, epoch=epoch, page_size=limit
        )
        response: state_pb2.ClaimAuditOutboxResponse = await call(
            self._state.ClaimAuditOutbox, request
        )
        return ClaimedOutbox.split(response.records, self._seal.holds)

    async def remove(self, record_ids: Sequence[str]) -> None:
        request = state_pb2.RemoveAuditOutboxRequest(record_ids=record_ids)
        await call(self._state.RemoveAuditOutbox, request)


class GrpcAuditSink:
    def __init__(self, policy: policy_pb2_grpc.PolicyServiceStub):
        self._policy = policy

    async def append(self, records: Sequence[policy_pb2.AuditRecord], request_id: str) -> None:
        # Retried as it is, request_id included: a retry after a lost reply appends nothing.
        request = policy_pb2.RecordDecisionsRequest(records=records, request_id=request_id)
        await call(self._policy.RecordDecisions, request, retry_for=AUDIT_RETRY_SECONDS)


class GrpcTraceQueries:
    def __init__(self, traces: trace_pb2_grpc.TraceQueryServiceStub):
        self._traces = traces

    async def run_trace(self, run_id: str) -> trace_pb2.GetRunTraceResponse:
        response: trace_pb2.GetRunTraceResponse = await call(
            self._traces.GetRunTrace, trace_pb2.GetRunTraceRequest(run_id=run_id)
        )
        return response


class MeshRepositories:
    """The repositories over one channel per service, opened with the router's identity."""

    def __init__(self, settings: RouterSettings):
        me = channels.mesh_identity("router")
        timeout = settings.internal_call_timeout_seconds
        self._channels = [
            channels.open_channel(endpoint, settings, default_timeout=timeout, as_identity=me)
            for endpoint in (
                settings.state_endpoint,
                settings.policy_endpoint,
                settings.trace_endpoint,
            )
        ]
        state = state_pb2_grpc.StateServiceStub(self._channels[0])
        policy = policy_pb2_grpc.PolicyServiceStub(self._channels[1])
        feed = BundleFeed(
            GrpcBundleSource(policy),
            settings.pii_hash_key(),
            staleness_seconds=settings.policy_staleness_seconds,
            first_bundle_seconds=settings.policy_first_bundle_seconds,
        )
        audit_log = GrpcAuditSink(policy)
        seal = OutboxSeal(settings.mesh_key)
        self._run_writes = RunWrites(state, settings.max_message_bytes)
        self.policy = LocalPolicyDecisions(feed, AuditBatcher(audit_log))
        workflows, agents, self._registry = cached_registry(
            GrpcWorkflowRepository(state),
            GrpcAgentRepository(state),
            GrpcRegistryChangeSource(state),
            settings.registry_cache_size,
        )
        self.repositories = Repositories(
            runs=GrpcRunRepository(state, self._run_writes, seal),
            leases=GrpcLeaseRepository(state),
            approvals=GrpcApprovalRepository(state),
            workflows=workflows,
            agents=agents,
            memory=GrpcMemoryRepository(state),
            policy=self.policy,
            traces=GrpcTraceQueries(trace_pb2_grpc.TraceQueryServiceStub(self._channels[2])),
            outbox=GrpcAuditOutbox(state, seal),
            audit_log=audit_log,
        )

    def start(self) -> None:
        self.policy.start()
        if self._registry is not None:
            self._registry.start()

    async def close(self) -> None:
        if self._registry is not None:
            await self._registry.close()
        await self.policy.close()
        await self._run_writes.close()
        for channel in self._channels:
            await channel.close()
