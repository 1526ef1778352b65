"""Runs as the public API sees them: start, read, watch and cancel, scoped to the caller."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator

from opentelemetry import trace

from airspace.mesh import deadlines, errors, identity
from airspace.mesh.reasons import Reason
from airspace.router import agent_registry, audit, metrics, run_outcome
from airspace.router.commands import CancelRun, ListRuns, StartRun
from airspace.router.convert import to_struct
from airspace.router.executor import Prepared, RunExecutor
from airspace.router.guard import Guard
from airspace.router.repositories import Page, Repositories
from airspace.router.run_log import TERMINAL_STATES
from airspace.router.spec import WorkflowSpec
from airspace.router.spec.compiled import CompiledSpecs
from airspace.v1 import agent_registry_pb2, run_pb2, workflow_pb2

MAX_REQUEST_ID = 128
# Labels tag a run for lists and dashboards: a few short pairs, not a second input.
MAX_LABELS, MAX_LABEL_KEY, MAX_LABEL_VALUE = 64, 63, 256
# A watch with no client deadline may follow a run this long before reconnecting.
WATCH_TIMEOUT_SECONDS = 24 * 3600
# RunWorkflow stops waiting this long (at most a tenth of its time) before the caller's
# deadline, so that its answer, that the run goes on, reaches the caller in time.
REPLY_MARGIN_SECONDS = 0.5


class Runs:
    def __init__(
        self,
        repositories: Repositories,
        guard: Guard,
        executor: RunExecutor,
        specs: CompiledSpecs,
    ):
        self._repositories = repositories
        self._specs = specs
        self._runs = repositories.runs
        self._guard = guard
        self._executor = executor

    async def start(self, request: StartRun) -> run_pb2.Run:
        _check_start(request)
        # The start's decision rides with the run's creation; when this request creates
        # no run (refused, failed, or answered by a run created before) it is recorded
        # on its own, before the caller hears the answer.
        held = audit.HeldRecords(self._repositories.policy)
        try:
            caller = await self._guard.authorize(
                "run.start", "workflow", request.workflow, carrier=held
            )
            return await self._create(request, caller, held)
        finally:
            await held.store_unwritten()

    async def _create(
        self, request: StartRun, caller: identity.Identity, held: audit.HeldRecords
    ) -> run_pb2.Run:
        workflow = await self._repositories.workflows.get(
            caller.tenant, request.workflow, request.workflow_version
        )
        spec = self._specs.of(workflow)
        run = _new_run(request, caller, workflow)
        _check_input_size(run, spec)
        agents = await self._pinned_agents(caller.tenant, workflow.workflow, spec)
        for name, agent in agents.items():
            run.agent_versions[name] = agent.card.version
        ticket = self._executor.admit(caller.tenant)
        try:
            claim = await self._executor.creation_claim()
            # The record of the creation is stored with it, in its transaction.
            records = [
                *held.filed_under(run.run_id),
                audit.run_created(self._repositories.policy, run),
            ]
            created = await self._runs.create(run, request.digest(), claim, records)
        except BaseException:
            ticket.release()
            raise
        stored = created.run
        if not created.created:
            ticket.release()  # the request was answered before: that run has its place
            if created.grant is not None:
                # Its lease is this router's: it executes the run already (launching
                # it again is a no-op), or the first reply was lost before it could.
                self._executor.launch(stored, grant=created.grant)
            return stored
        held.written()
        metrics.record_run_started(stored.workflow.name)
        self._executor.relay.stored(records)
        parent = trace.get_current_span().get_span_context()
        self._executor.launch(
            stored,
            parent.span_id if parent.is_valid else 0,
            Prepared(spec, agents),
            grant=created.grant,
            ticket=ticket,
        )
        return stored

    async def run_to_end(self, request: StartRun) -> run_pb2.Run:
        """Starts the run (or joins it) and returns it once it COMPLETED. Raises the run's
        failure when it did not, and RUN_STILL_RUNNING when the caller's deadline comes
        first, leaving the run running."""
        run = await self.start(request)
        state = run.state
        try:
            async with asyncio.timeout(_patience()):
                async for run_event in self.follow(run, run.last_event_sequence):
                    if run_event.HasField("run_state_changed"):
                        state = run_event.run_state_changed.to
        except TimeoutError:
            raise run_outcome.still_running(run.name, state) from None
        return await self.get(run.run_id)

    async def _pinned_agents(
        self, tenant: str, workflow: str, spec: WorkflowSpec
    ) -> dict[str, agent_registry_pb2.Agent]:
        """The registrations of the workflow's agents, whose versions the run is pinned to."""
        agents = await agent_registry.registered(self._repositories.agents, tenant, spec.agents)
        for agent in spec.agents:
            if agent not in agents:
                raise errors.FailedPrecondition(
                    f"workflow {workflow} uses agent {agent!r}, which is not registered",
                    reason=Reason.AGENT_NOT_REGISTERED,
                )
        return agents

    async def get(self, run_id: str) -> run_pb2.Run:
        if not run_id:
            raise errors.InvalidArgument("run_id is required", field="run_id")
        caller = await self._guard.authorize("run.read", "run", run_id)
        return await self._runs.get(caller.tenant, run_id)

    async def list(self, query: ListRuns) -> Page[run_pb2.Run]:
        caller = await self._guard.authorize("run.read", "run")
        return await self._runs.list(
            caller.tenant, query.page, workflow=query.workflow, state=query.state
        )

    async def watch(self, run_id: str, after_sequence: int) -> AsyncIterator[run_pb2.RunEvent]:
        """The run's events after the cursor, then live until the run ends."""
        if after_sequence < 0:
            raise errors.InvalidArgument("after_sequence must be >= 0", field="after_sequence")
        run = await self.get(run_id)
        async for run_event in self.follow(run, after_sequence):
            yield run_event

    async def follow(
        self, run: run_pb2.Run, after_sequence: int
    ) -> AsyncIterator[run_pb2.RunEvent]:
        """Like watch, for a run the caller was authorized for and read (or just started)."""
        state, error = run.state, run.error
        async for run_event in self._events(run, after_sequence):
            yield run_event
            if (ended := run_outcome.ended_by(run_event)) is not None:
                state, error = ended.to, ended.error
        # After the last event: a run that did not complete ends the stream with its failure.
        if (failure := run_outcome.failure(run.name, state, error)) is not None:
            raise failure

    async def _events(
        self, run: run_pb2.Run, after_sequence: int
    ) -> AsyncIterator[run_pb2.RunEvent]:
        """From this router while it executes the run (local_events.py), else, or from
        where that feed stopped serving, from the state service."""
        local = self._executor.local_events.subscribe(run.run_id, after_sequence)
        if local is not None:
            try:
                async for run_event in local:
                    yield run_event
            finally:
                local.close()
            if local.ended:
                return
            after_sequence = local.last_sequence
        async for run_event in self._runs.watch(
            run.tenant, run.run_id, after_sequence, WATCH_TIMEOUT_SECONDS
        ):
            yield run_event

    async def cancel(self, request: CancelRun) -> run_pb2.Run:
        if not request.run_id:
            raise errors.InvalidArgument("run_id is required", field="run_id")
        caller = await self._guard.authorize("run.cancel", "run", request.run_id)
        run = await self._runs.get(caller.tenant, request.run_id)
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


def _patience() -> float | None:
    """How long RunWorkflow waits for its run: until shortly before the call's deadline."""
    left = deadlines.remaining()
    return None if left is None else max(0.0, left - min(REPLY_MARGIN_SECONDS, left / 10))


def _check_start(request: StartRun) -> None:
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
    _check_labels(request.labels)


def _check_labels(labels: dict[str, str]) -> None:
    if len(labels) > MAX_LABELS:
        raise errors.InvalidArgument(f"labels holds more than {MAX_LABELS} pairs", field="labels")
    for key, value in labels.items():
        if not key or len(key) > MAX_LABEL_KEY or len(value) > MAX_LABEL_VALUE:
            raise errors.InvalidArgument(
                f"labels[{key!r}]: keys are 1 to {MAX_LABEL_KEY} characters, values at most "
                f"{MAX_LABEL_VALUE}",
                field=f"labels[{key!r}]",
            )


def _check_input_size(run: run_pb2.Run, spec: WorkflowSpec) -> None:
    size, limit = run.input.ByteSize(), spec.limits.max_input_bytes
    if size > limit:
        raise errors.ResourceExhausted(
            f"input is {size} bytes, over workflow {spec.name}'s limit of {limit} bytes "
            "(limits.max_input_bytes)",
            reason=Reason.INPUT_TOO_LARGE,
            violations=[("input", f"at most {limit} bytes (limits.max_input_bytes)")],
            metadata={"limit": "limits.max_input_bytes", "max_bytes": str(limit)},
        )


def _new_run(
    request: StartRun, caller: identity.Identity, workflow: workflow_pb2.Workflow
) -> run_pb2.Run:
    run = run_pb2.Run(
        run_id=uuid.uuid4().hex,
        tenant=caller.tenant,
        state=run_pb2.RUN_STATE_QUEUED,
        input=to_struct(request.input),
        created_by=caller.principal,
        request_id=request.request_id or uuid.uuid4().hex,
        labels=request.labels,
        trace_id=_trace_id(),
    )
    run.name = f"runs/{run.run_id}"
    run.workflow.name, run.workflow.version = workflow.workflow, workflow.version
    return run


def _trace_id() -> str:
    """The trace the run joins: the caller's, when it sent one, else a new trace."""
    current = trace.get_current_span().get_span_context()
    trace_id = current.trace_id if current.is_valid else random.getrandbits(128)
    return format(trace_id, "032x")
