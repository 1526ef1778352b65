"""Runs as the public API sees them: start, read, watch and cancel, scoped to the caller."""

from __future__ import annotations

import random
import uuid

import grpc
from opentelemetry import trace

from airspace.mesh import deadlines, errors
from airspace.router import agent_registry, audit, metrics, validation
from airspace.router.clients import MeshClients, call
from airspace.router.convert import to_dict
from airspace.router.executor import TERMINAL_STATES, Prepared, RunExecutor
from airspace.router.guard import Guard
from airspace.router.reasons import Reason
from airspace.router.spec import validate
from airspace.state.v1 import state_pb2
from airspace.v1 import run_pb2

MAX_REQUEST_ID = 128
# A watch with no client deadline may follow a run this long before reconnecting.
WATCH_TIMEOUT_SECONDS = 24 * 3600


class Runs:
    def __init__(self, clients: MeshClients, guard: Guard, executor: RunExecutor):
        self._clients = clients
        self._guard = guard
        self._executor = executor

    async def start(
        self, request: run_pb2.StartRunRequest | run_pb2.ExecuteRunRequest
    ) -> run_pb2.Run:
        if not request.workflow:
            raise errors.InvalidArgument("workflow is required", field="workflow")
        if request.workflow_version < 0:
            raise errors.InvalidArgument(
                "workflow_version must be 0 (latest) or a version", field="workflow_version"
            )
        if len(request.request_id) > MAX_REQUEST_ID:
            raise errors.InvalidArgument(
                f"request_id is longer than {MAX_REQUEST_ID} characters", field="request_id"
            )
        validation.check_input_depth(to_dict(request.input), "input")
        caller = await self._guard.authorize("run.start", "workflow", request.workflow)
        workflow = (
            await call(
                self._clients.state.GetWorkflow,
                state_pb2.GetWorkflowRequest(
                    tenant=caller.tenant,
                    workflow=request.workflow,
                    version=request.workflow_version,
                ),
            )
        ).workflow
        spec = validate(to_dict(workflow.spec))
        run = run_pb2.Run(
            run_id=uuid.uuid4().hex,
            tenant=caller.tenant,
            state=run_pb2.RUN_STATE_QUEUED,
            input=request.input,
            created_by=caller.principal,
            request_id=request.request_id or uuid.uuid4().hex,
            labels=request.labels,
            trace_id=_trace_id(),
        )
        run.name = f"runs/{run.run_id}"
        run.workflow.name, run.workflow.version = workflow.workflow, workflow.version
        agents = await agent_registry.registered(self._clients, caller.tenant, spec.agents)
        for agent in spec.agents:
            if agent not in agents:
                raise errors.FailedPrecondition(
                    f"workflow {workflow.workflow} uses agent {agent!r}, which is not registered",
                    reason=Reason.AGENT_NOT_REGISTERED,
                )
            run.agent_versions[agent] = agents[agent].card.version
        created = await call(self._clients.state.CreateRun, state_pb2.CreateRunRequest(run=run))
        if created.created:
            metrics.record_run_started(created.run.workflow.name)
            await audit.run_created(self._clients, created.run)
            parent = trace.get_current_span().get_span_context()
            self._executor.launch(
                created.run, parent.span_id if parent.is_valid else 0, Prepared(spec, agents)
            )
        return created.run

    async def get(self, run_id: str) -> run_pb2.Run:
        if not run_id:
            raise errors.InvalidArgument("run_id is required", field="run_id")
        caller = await self._guard.authorize("run.read", "run", run_id)
        response = await call(
            self._clients.state.GetRun, state_pb2.GetRunRequest(tenant=caller.tenant, run_id=run_id)
        )
        return response.run

    async def list(self, request: run_pb2.ListRunsRequest) -> run_pb2.ListRunsResponse:
        caller = await self._guard.authorize("run.read", "run")
        response = await call(
            self._clients.state.ListRuns,
            state_pb2.ListRunsRequest(
                tenant=caller.tenant,
                page_size=request.page_size,
                page_token=request.page_token,
                workflow=request.workflow,
                state=request.state,
            ),
        )
        return run_pb2.ListRunsResponse(
            runs=response.runs, next_page_token=response.next_page_token
        )

    async def watch(self, run_id: str, after_sequence: int):
        """The run's events after the cursor, then live until the run ends."""
        if after_sequence < 0:
            raise errors.InvalidArgument("after_sequence must be >= 0", field="after_sequence")
        run = await self.get(run_id)
        stream = self._clients.state.WatchEvents(
            state_pb2.WatchEventsRequest(
                tenant=run.tenant, run_id=run_id, after_sequence=after_sequence
            ),
            timeout=deadlines.timeout_for(WATCH_TIMEOUT_SECONDS, WATCH_TIMEOUT_SECONDS),
        )
        try:
            async for run_event in stream:
                yield run_event
        except grpc.aio.AioRpcError as exc:
            raise errors.from_rpc_error(exc) from exc

    async def cancel(self, request: run_pb2.CancelRunRequest) -> run_pb2.Run:
        if not request.run_id:
            raise errors.InvalidArgument("run_id is required", field="run_id")
        caller = await self._guard.authorize("run.cancel", "run", request.run_id)
        run = (
            await call(
                self._clients.state.GetRun,
                state_pb2.GetRunRequest(tenant=caller.tenant, run_id=request.run_id),
            )
        ).run
        if run.state in TERMINAL_STATES:
            if run.state == run_pb2.RUN_STATE_CANCELED:
                return run  # a repeated cancel is not an error
            raise errors.FailedPrecondition(
                f"run {run.run_id} already ended ({run_pb2.RunState.Name(run.state)})",
                reason=Reason.RUN_ENDED,
            )
        return await self._executor.cancel(
            run, request.reason or "no reason given", caller.principal
        )


def _trace_id() -> str:
    """The trace the run joins: the caller's, when it sent one, else a new trace."""
    current = trace.get_current_span().get_span_context()
    trace_id = current.trace_id if current.is_valid else random.getrandbits(128)
    return format(trace_id, "032x")
