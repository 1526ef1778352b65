"""airspace.state.v1.StateService: checks requests and translates them to store calls.

The state service is internal: only mesh services (identity kind "mesh") may call it.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from airspace.mesh import errors, identity, time_values
from airspace.mesh.interceptor import as_reported
from airspace.state import records, validation
from airspace.state.store.approvals import Decision
from airspace.state.store.audit_outbox import MAX_CLAIM
from airspace.state.store.leases import RunClaim
from airspace.state.store.runs import RunChange
from airspace.state.store.state import StateStore
from airspace.state.v1 import state_pb2, state_pb2_grpc
from airspace.state.watch import watch_events
from airspace.v1 import approval_pb2, run_pb2

# Writes per BatchWriteRuns call: one group commit's worth (the SQLite writer's MAX_BATCH).
MAX_BATCH_WRITES = 256


def _mesh_callers_only(cls):
    """Wraps every StateService method so a caller that is not a mesh service is
    refused before the method runs."""
    for method in state_pb2.DESCRIPTOR.services_by_name["StateService"].methods:
        implementation = getattr(cls, method.name)
        streams = inspect.isasyncgenfunction(implementation)
        guarded = _guarded_stream(implementation) if streams else _guarded_unary(implementation)
        setattr(cls, method.name, functools.wraps(implementation)(guarded))
    return cls


def _guarded_stream(implementation: Callable[..., AsyncIterator[Any]]) -> Callable[..., Any]:
    async def guarded(self, request, context):
        identity.require_mesh()
        async for response in implementation(self, request, context):
            yield response

    return guarded


def _guarded_unary(implementation: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    async def guarded(self, request, context):
        identity.require_mesh()
        return await implementation(self, request, context)

    return guarded


@_mesh_callers_only
class StateServicer(state_pb2_grpc.StateServiceServicer):
    def __init__(self, store: StateStore, *, watch_recheck_seconds: float = 2.0):
        self._store = store
        self._watch_recheck_seconds = watch_recheck_seconds

    # Runs -----------------------------------------------------------------

    async def CreateRun(self, request, context):
        return await self._create_run(request)

    async def AppendEvents(self, request, context):
        return await self._append_events(request)

    async def BatchWriteRuns(self, request, context):
        validation.require(("writes", request.writes))
        if len(request.writes) > MAX_BATCH_WRITES:
            raise errors.InvalidArgument(
                f"{len(request.writes)} writes, over the limit of {MAX_BATCH_WRITES} per call",
                field="writes",
            )
        # Side by side, so the store's writer commits them together.
        results = await asyncio.gather(*(self._write_result(write) for write in request.writes))
        return state_pb2.BatchWriteRunsResponse(results=results)

    async def _write_result(self, write: state_pb2.RunWrite) -> state_pb2.RunWriteResult:
        try:
            kind = write.WhichOneof("write")
            if kind == "create_run":
                return state_pb2.RunWriteResult(create_run=await self._create_run(write.create_run))
            if kind == "append_events":
                appended = await self._append_events(write.append_events)
                return state_pb2.RunWriteResult(append_events=appended)
            raise errors.InvalidArgument(
                "the write names neither create_run nor append_events", field="write"
            )
        except Exception as exc:  # one write's failure is its result alone
            return state_pb2.RunWriteResult(error=as_reported(exc).to_status())

    async def _create_run(self, request) -> state_pb2.CreateRunResponse:
        run = request.run
        validation.require(
            ("run.run_id", run.run_id),
            ("run.tenant", run.tenant),
            ("run.request_id", run.request_id),
        )
        validation.known_enum(run_pb2.RunState, run.state, "run.state")
        claim = None
        if request.HasField("claim"):
            _check_router(request.claim, "claim.")
            claim = RunClaim(request.claim.router_id, request.claim.epoch)
        validation.audit_records(request.audit_records)
        created = await self._store.runs.create_run(
            run, request.request_digest, claim, request.audit_records
        )
        return state_pb2.CreateRunResponse(
            run=created.run, created=created.created, fencing_token=created.fencing_token
        )

    async def GetRun(self, request, context):
        validation.require(("tenant", request.tenant), ("run_id", request.run_id))
        return state_pb2.GetRunResponse(
            run=await self._store.runs.get_run(request.tenant, request.run_id)
        )

    async def ListRuns(self, request, context):
        validation.require(("tenant", request.tenant))
        validation.known_enum(run_pb2.RunState, request.state, "state")
        page = await self._store.runs.list_runs(
            request.tenant,
            workflow=request.workflow,
            state=request.state,
            page_size=validation.page_size(request.page_size, default=50, maximum=1000),
            page_token=request.page_token,
        )
        return state_pb2.ListRunsResponse(runs=page.items, next_page_token=page.next_page_token)

    async def UpdateRun(self, request, context):
        validation.require(("tenant", request.tenant), ("run.run_id", request.run.run_id))
        change = _run_change(request.run, request.update_mask, request.expected_states, "")
        run = await self._store.runs.update_run(
            request.tenant, change.patch, change.fields, change.expected_states
        )
        return state_pb2.UpdateRunResponse(run=run)

    async def _append_events(self, request) -> state_pb2.AppendEventsResponse:
        validation.require(
            ("tenant", request.tenant), ("run_id", request.run_id), ("events", request.events)
        )
        for index, event in enumerate(request.events):
            validation.require((f"events[{index}].kind", event.WhichOneof("kind")))
            if event.run_id and event.run_id != request.run_id:
                raise errors.InvalidArgument(
                    f"event for run {event.run_id!r} appended to run {request.run_id!r}",
                    field=f"events[{index}].run_id",
                )
        for index, entry in enumerate(request.journal_entries):
            validation.require((f"journal_entries[{index}].step_key", entry.step_key))
        validation.audit_records(request.audit_records)
        change = None
        if request.HasField("run_update"):
            update = request.run_update
            if update.run.run_id and update.run.run_id != request.run_id:
                raise errors.InvalidArgument(
                    f"run_update is for run {update.run.run_id!r}, not {request.run_id!r}",
                    field="run_update.run.run_id",
                )
            change = _run_change(
                update.run, update.update_mask, update.expected_states, "run_update."
            )
        appended = await self._store.runs.append_events(
            request.tenant,
            request.run_id,
            request.events,
            request.journal_entries,
            expected_last_sequence=(
                request.expected_last_sequence
                if request.HasField("expected_last_sequence")
                else None
            ),
            lease_owner=request.lease_owner,
            lease_token=request.lease_token,
            change=change,
            audit_records=request.audit_records,
        )
        return state_pb2.AppendEventsResponse(
            last_sequence=appended.last_sequence, run=appended.run
        )

    async def ListEvents(self, request, context):
        validation.require(("tenant", request.tenant), ("run_id", request.run_id))
        _check_cursor(request.after_sequence)
        page = await self._store.runs.list_events(
            request.tenant,
            request.run_id,
            after_sequence=request.after_sequence,
            limit=validation.page_size(request.page_size, default=500, maximum=5000),
        )
        return state_pb2.ListEventsResponse(events=page.events, run_ended=page.run_ended)

    async def WatchEvents(self, request, context):
        validation.require(("tenant", request.tenant), ("run_id", request.run_id))
        _check_cursor(request.after_sequence)
        async for event in watch_events(
            self._store.runs,
            request.tenant,
            request.run_id,
            request.after_sequence,
            recheck_seconds=self._watch_recheck_seconds,
        ):
            yield event

    async def GetJournal(self, request, context):
        validation.require(("tenant", request.tenant), ("run_id", request.run_id))
        entries = await self._store.runs.get_journal(request.tenant, request.run_id)
        return state_pb2.GetJournalResponse(entries=entries)

    async def PruneRuns(self, request, context):
        validation.require(
            ("tenant", request.tenant), ("finished_before", request.HasField("finished_before"))
        )
        pruned = await self._store.runs.prune_runs(
            request.tenant,
            time_values.timestamp_micros(request.finished_before, "finished_before"),
            validate_only=request.validate_only,
            limit=validation.page_size(request.page_size, default=1000, maximum=5000),
        )
        return state_pb2.PruneRunsResponse(
            pruned_runs=pruned.runs,
            deleted_events=pruned.events,
            deleted_journal_entries=pruned.journal_entries,
            more=pruned.more,
        )

    # Workflows ------------------------------------------------------------

    async def PutWorkflow(self, request, context):
        workflow = request.workflow
        validation.require(
            ("workflow.tenant", workflow.tenant),
            ("workflow.workflow", workflow.workflow),
            ("workflow.spec", workflow.HasField("spec")),
        )
        stored, created = await self._store.workflows.put_workflow(workflow)
        return state_pb2.PutWorkflowResponse(workflow=stored, created=created)

    async def GetWorkflow(self, request, context):
        validation.require(("tenant", request.tenant), ("workflow", request.workflow))
        if request.version < 0:
            raise errors.InvalidArgument("version must not be negative", field="version")
        workflow = await self._store.workflows.get_workflow(
            request.tenant, request.workflow, request.version
        )
        return state_pb2.GetWorkflowResponse(workflow=workflow)

    async def ListWorkflows(self, request, context):
        validation.require(("tenant", request.tenant))
        page = await self._store.workflows.list_workflows(
            request.tenant,
            page_size=validation.page_size(request.page_size, default=50, maximum=1000),
            page_token=request.page_token,
        )
        return state_pb2.ListWorkflowsResponse(
            workflows=page.items, next_page_token=page.next_page_token
        )

    async def DeleteWorkflow(self, request, context):
        validation.require(("tenant", request.tenant), ("workflow", request.workflow))
        await self._store.workflows.delete_workflow(request.tenant, request.workflow)
        return state_pb2.DeleteWorkflowResponse()

    # Agents ---------------------------------------------------------------

    async def PutAgent(self, request, context):
        validation.require(
            ("agent.tenant", request.agent.tenant), ("agent.agent", request.agent.agent)
        )
        return state_pb2.PutAgentResponse(agent=await self._store.agents.put_agent(request.agent))

    async def GetAgent(self, request, context):
        validation.require(("tenant", request.tenant), ("agent", request.agent))
        agent = await self._store.agents.get_agent(request.tenant, request.agent)
        return state_pb2.GetAgentResponse(agent=agent)

    async def ListAgents(self, request, context):
        validation.require(("tenant", request.tenant))
        page = await self._store.agents.list_agents(
            request.tenant,
            page_size=validation.page_size(request.page_size, default=50, maximum=1000),
            page_token=request.page_token,
        )
        return state_pb2.ListAgentsResponse(agents=page.items, next_page_token=page.next_page_token)

    async def DeleteAgent(self, request, context):
        validation.require(("tenant", request.tenant), ("agent", request.agent))
        await self._store.agents.delete_agent(request.tenant, request.agent)
        return state_pb2.DeleteAgentResponse()

    # Registry changes (for the routers' caches) ----------------------------

    async def WatchRegistry(self, request, context):
        async with self._store.registry_changes.subscribe() as changes:
            yield state_pb2.WatchRegistryResponse(live=state_pb2.RegistryWatchLive())
            async for registry_change in changes:
                yield state_pb2.WatchRegistryResponse(change=registry_change)

    # Approvals ------------------------------------------------------------

    async def CreateApproval(self, request, context):
        approval = request.approval
        validation.require(
            ("approval.approval_id", approval.approval_id),
            ("approval.tenant", approval.tenant),
            ("approval.run_id", approval.run_id),
        )
        stored = await self._store.approvals.create_approval(approval)
        return state_pb2.CreateApprovalResponse(approval=stored)

    async def GetApproval(self, request, context):
        validation.require(("tenant", request.tenant), ("approval_id", request.approval_id))
        approval = await self._store.approvals.get_approval(request.tenant, request.approval_id)
        return state_pb2.GetApprovalResponse(approval=approval)

    async def ListApprovals(self, request, context):
        validation.require(("tenant", request.tenant))
        validation.known_enum(approval_pb2.ApprovalState, request.state, "state")
        page = await self._store.approvals.list_approvals(
            request.tenant,
            state=request.state,
            roles=list(request.roles),
            run_id=request.run_id,
            page_size=validation.page_size(request.page_size, default=50, maximum=1000),
            page_token=request.page_token,
        )
        return state_pb2.ListApprovalsResponse(
            approvals=page.items, next_page_token=page.next_page_token
        )

    async def ListDueApprovals(self, request, context):
        validation.require(("due_before", request.HasField("due_before")))
        approvals = await self._store.approvals.list_due_approvals(
            time_values.timestamp_micros(request.due_before, "due_before"),
            validation.page_size(request.page_size, default=100, maximum=1000),
        )
        return state_pb2.ListDueApprovalsResponse(approvals=approvals)

    async def DecideApproval(self, request, context):
        validation.require(
            ("tenant", request.tenant),
            ("approval_id", request.approval_id),
            ("outcome", request.outcome),
            ("decided_by", request.decided_by),
        )
        validation.known_enum(run_pb2.ApprovalOutcome, request.outcome, "outcome")
        edited = request.outcome == run_pb2.APPROVAL_OUTCOME_EDITED
        if edited:
            validation.require(("edited_payload", request.HasField("edited_payload")))
        decision = Decision(
            outcome=request.outcome,
            decided_by=request.decided_by,
            comment=request.comment,
            edited_payload=request.edited_payload if edited else None,
        )
        approval = await self._store.approvals.decide_approval(
            request.tenant, request.approval_id, decision
        )
        return state_pb2.DecideApprovalResponse(approval=approval)

    # Shared memory --------------------------------------------------------

    async def GetMemory(self, request, context):
        _check_memory_key(request)
        entry = await self._store.memory.get_memory(request.tenant, request.namespace, request.key)
        return state_pb2.GetMemoryResponse(entry=entry)

    async def PutMemory(self, request, context):
        _check_memory_key(request)
        validation.require(("value", request.HasField("value")))
        entry = await self._store.memory.put_memory(
            request.tenant,
            request.namespace,
            request.key,
            request.value,
            expected_version=_expected_version(request),
            ttl_seconds=(
                validation.positive_seconds(request.ttl, "ttl") if request.HasField("ttl") else None
            ),
            request_id=request.request_id,
        )
        return state_pb2.PutMemoryResponse(entry=entry)

    async def DeleteMemory(self, request, context):
        _check_memory_key(request)
        await self._store.memory.delete_memory(
            request.tenant,
            request.namespace,
            request.key,
            expected_version=_expected_version(request),
        )
        return state_pb2.DeleteMemoryResponse()

    async def ListMemory(self, request, context):
        validation.require(("tenant", request.tenant), ("namespace", request.namespace))
        validation.memory_namespace(request.namespace)
        page = await self._store.memory.list_memory(
            request.tenant,
            request.namespace,
            key_prefix=request.key_prefix,
            page_size=validation.page_size(request.page_size, default=100, maximum=1000),
            page_token=request.page_token,
        )
        return state_pb2.ListMemoryResponse(
            entries=page.items, next_page_token=page.next_page_token
        )

    # Leases (rules/leases.py) -------------------------------------------------

    async def RegisterRouter(self, request, context):
        validation.require(("router_id", request.router_id), ("ttl", request.HasField("ttl")))
        lease = await self._store.leases.register_router(
            request.router_id, validation.positive_seconds(request.ttl, "ttl")
        )
        return state_pb2.RegisterRouterResponse(epoch=lease.epoch, expire_time=lease.expire_time)

    async def RenewRouterLease(self, request, context):
        _check_router(request)
        validation.require(("ttl", request.HasField("ttl")))
        renewal = await self._store.leases.renew_router_lease(
            request.router_id, request.epoch, validation.positive_seconds(request.ttl, "ttl")
        )
        return state_pb2.RenewRouterLeaseResponse(
            expire_time=renewal.expire_time, takeover_pending=renewal.takeover_pending
        )

    async def DeregisterRouter(self, request, context):
        _check_router(request)
        await self._store.leases.deregister_router(request.router_id, request.epoch)
        return state_pb2.DeregisterRouterResponse()

    async def ClaimRun(self, request, context):
        validation.require(("run_id", request.run_id))
        _check_router(request)
        lease = await self._store.leases.claim_run(request.run_id, request.router_id, request.epoch)
        return state_pb2.ClaimRunResponse(
            acquired=lease.acquired,
            owner=lease.owner,
            fencing_token=lease.token,
            previous_owner=lease.previous_owner,
        )

    async def ClaimRuns(self, request, context):
        _check_router(request)
        limit = validation.page_size(request.page_size, default=100, maximum=1000)
        min_age = time_values.duration_seconds(request.min_age, "min_age")
        if min_age < 0:
            raise errors.InvalidArgument("min_age must not be negative", field="min_age")
        claimed = await self._store.leases.claim_runs(
            request.router_id, request.epoch, limit, min_age
        )
        return state_pb2.ClaimRunsResponse(
            runs=[
                state_pb2.ClaimedRun(
                    run=c.run, fencing_token=c.token, previous_owner=c.previous_owner
                )
                for c in claimed
            ]
        )

    async def ClaimAuditOutbox(self, request, context):
        _check_router(request)
        limit = validation.page_size(request.page_size, default=MAX_CLAIM, maximum=MAX_CLAIM)
        records = await self._store.audit_outbox.claim(request.router_id, request.epoch, limit)
        return state_pb2.ClaimAuditOutboxResponse(records=records)

    async def RemoveAuditOutbox(self, request, context):
        validation.record_ids(request.record_ids)
        removed = await self._store.audit_outbox.remove(request.record_ids)
        return state_pb2.RemoveAuditOutboxResponse(removed=removed)

    async def AcquireLease(self, request, context):
        raise _replaced("AcquireLease", "RegisterRouter and ClaimRun")

    async def ListClaimableRuns(self, request, context):
        raise _replaced("ListClaimableRuns", "ClaimRuns")

    async def ReleaseLease(self, request, context):
        validation.require(("run_id", request.run_id), ("owner", request.owner))
        await self._store.leases.release_lease(request.run_id, request.owner, request.fencing_token)
        return state_pb2.ReleaseLeaseResponse()


def _replaced(method: str, by: str) -> errors.Unimplemented:
    """Per-run leases ended with schema version 3: routers hold runs under router leases."""
    return errors.Unimplemented(
        f"{method} was replaced by router leases ({by}); upgrade the router to this release"
    )


def _check_router(request, prefix: str = "") -> None:
    """A router lease request names its router and the epoch of its registration;
    `prefix` locates them in the request."""
    validation.require((f"{prefix}router_id", request.router_id), (f"{prefix}epoch", request.epoch))
    if request.epoch < 0:
        raise errors.InvalidArgument(f"{prefix}epoch must not be negative", field=f"{prefix}epoch")


def _run_change(run, update_mask, expected_states, prefix: str) -> RunChange:
    """A checked run change; `prefix` locates its fields in the request."""
    validation.require((f"{prefix}update_mask", update_mask.paths))
    for index, path in enumerate(update_mask.paths):
        if path not in records.RUN_UPDATE_FIELDS:
            raise errors.InvalidArgument(
                f"run field {path!r} cannot be updated; allowed: "
                + ", ".join(sorted(records.RUN_UPDATE_FIELDS)),
                field=f"{prefix}update_mask.paths[{index}]",
            )
    if "state" in update_mask.paths:
        validation.require((f"{prefix}run.state", run.state))
        validation.known_enum(run_pb2.RunState, run.state, f"{prefix}run.state")
    for index, state in enumerate(expected_states):
        validation.known_enum(run_pb2.RunState, state, f"{prefix}expected_states[{index}]")
    return RunChange(run, list(update_mask.paths), set(expected_states))


def _check_cursor(after_sequence: int) -> None:
    if after_sequence < 0:
        raise errors.InvalidArgument("after_sequence must not be negative", field="after_sequence")


def _check_memory_key(request) -> None:
    validation.require(
        ("tenant", request.tenant), ("namespace", request.namespace), ("key", request.key)
    )
    validation.memory_namespace(request.namespace)


def _expected_version(request) -> int | None:
    if not request.HasField("expected_version"):
        return None
    if request.expected_version < 0:
        raise errors.InvalidArgument(
            "expected_version must not be negative", field="expected_version"
        )
    return request.expected_version
