"""Executes runs: leases, lifecycle, the workflow span, recovery of unfinished runs.

The router owns no data: everything a run needs is in the state service, so any
replica holding the run's lease can execute or resume it. A run is executed in a
task with a fresh context, so nothing of the request that started it (its
deadline, its caller's identity) leaks into the run.

Recovery: a router executes a run only while it holds the run's lease, which is live
while the router's own lease is (router_lease.py: one renewal per heartbeat for all
its runs); every event it appends names the run lease's fencing token, so a router
that lost it can write nothing more. Routers claim the runs of a router whose lease
lapsed as soon as a heartbeat tells them (ClaimRuns, in one transaction), and every
recovery interval they claim runs nobody leased; they read the run again, replay the
journal (completed steps are not invoked again; the step in flight is invoked again
with the same idempotency key), and keep the run's deadline, which counts from the
run's creation. State changes are appended together with their events in one
transaction, so a crash never leaves one without the other, and a resumed run never
records them twice.

Beyond one write per step, a run costs only its creation: a run this router creates to
execute at once is claimed in its CreateRun (creation_claim), going RUNNING rides with
the first step's write, and the last step's write is the run's end (run_log.py), which
frees its lease, so the router releases a lease itself only when it stops a run without
ending it.

A router that loses its lease, finds the run ended by someone else, or cannot reach
the state service for clients.RETRY_SECONDS stops executing the run without ending
it; the run stays unfinished and is resumed once its lease is free.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import functools
import logging
import random
import time
from typing import Any

from google.rpc import code_pb2, status_pb2
from opentelemetry import trace

from airspace.mesh import errors, logs, quotas, telemetry
from airspace.mesh.reasons import Reason, reason_of
from airspace.router import agent_registry, audit, convert, metrics, run_errors
from airspace.router.approval_gate import RunPaused
from airspace.router.audit_relay import AuditRelay
from airspace.router.local_events import LocalEvents
from airspace.router.patterns import run_pattern
from airspace.router.repositories import Decision, LeaseGrant, Repositories, RunClaim
from airspace.router.router_lease import RouterLease
from airspace.router.run_admission import RunAdmission, Ticket, Waiting
from airspace.router.run_context import RunContext, RunFailure
from airspace.router.run_log import RunLog, event
from airspace.router.settings import RouterSettings
from airspace.router.spec import WorkflowSpec
from airspace.router.spec.compiled import CompiledSpecs
from airspace.router.step_runner import StepRunner
from airspace.state.v1 import state_pb2
from airspace.v1 import agent_registry_pb2, approval_pb2, run_pb2

log = logging.getLogger("airspace.router")
_tracer = telemetry.tracer("airspace.router")

ACTIVE_STATES = (
    run_pb2.RUN_STATE_QUEUED,
    run_pb2.RUN_STATE_RUNNING,
    run_pb2.RUN_STATE_WAITING_APPROVAL,
)
EXECUTABLE_STATES = (run_pb2.RUN_STATE_QUEUED, run_pb2.RUN_STATE_RUNNING)
# Runs claimed per recovery pass; a full pass goes on with the next one at once.
_CLAIMS_PER_PASS = 100


def failure_status(failure: RunFailure) -> status_pb2.Status:
    """The run's error, with the catalogued reason in its ErrorInfo."""
    return run_errors.failure_status(
        Reason(failure.code), failure.message, failure.step_key, failure.agent
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Prepared:
    """What the router that created a run read for it, so executing it starts at once."""

    spec: WorkflowSpec
    agents: dict[str, agent_registry_pb2.Agent]


class RunExecutor:
    def __init__(
        self,
        settings: RouterSettings,
        repositories: Repositories,
        runner: StepRunner,
        specs: CompiledSpecs,
    ):
        self._settings = settings
        self._specs = specs
        self._repositories = repositories
        self._runs = repositories.runs
        self._runner = runner
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # Runs waiting for their turn, by run id: no task until it comes.
        self._waiting: dict[str, Waiting] = {}
        self._recovery: asyncio.Task[None] | None = None
        self._admission = RunAdmission(
            settings.max_running_runs,
            settings.max_queued_runs,
            quotas.load(settings.quotas_file),
        )
        self._lease = RouterLease(repositories.leases, settings, on_lost=self._stop_all)
        # Moves the audit records its appends store in the outbox to the audit log.
        self.relay = AuditRelay(
            repositories.outbox,
            repositories.audit_log,
            settings.router_id,
            settings.audit_relay_seconds,
        )
        # The events of the runs executing here, for their watchers on this router.
        self.local_events = LocalEvents(settings.watch_quiet_seconds)

    @property
    def owner(self) -> str:
        return self._settings.router_id

    def admit(self, tenant: str) -> Ticket:
        """A place for a new run of `tenant` among the runs this router takes on, or the
        refusal (RESOURCE_EXHAUSTED) when the tenant's quota or the queue is full."""
        return self._admission.admit(tenant)

    async def creation_claim(self) -> RunClaim | None:
        """The claim a new run makes in its creation when this router executes it at
        once, so it needs no ClaimRun of its own. None when it would wait in the
        admission queue: a run waiting there stays unleased, so that another router
        takes it if this one does not come to it within a lease's time (its ClaimRun
        then finds it taken); claimed early, it would wait for this router alone."""
        if not self._admission.has_room():
            return None
        try:
            return RunClaim(self.owner, await self._lease.epoch())
        except errors.MeshError:
            return None  # it is created unclaimed, and claimed when it executes

    def launch(
        self,
        run: run_pb2.Run,
        parent_span_id: int = 0,
        prepared: Prepared | None = None,
        grant: LeaseGrant | None = None,
        ticket: Ticket | None = None,
    ) -> None:
        """Executes a run in the background once it has its turn (run_admission.py).
        `prepared` is what the router that just created the run read for it; a listed or
        resumed run is read afresh. `grant` is the run's lease when this router claimed it
        already (taken otherwise); `ticket` is the new run's admission. A run waiting its
        turn is a record in the queue; its task is created when its turn comes."""
        if self.busy(run.run_id):
            if ticket is not None:
                ticket.release()
            return
        ticket = ticket or self._admission.ticket(run.tenant)
        # Open before the run waits: a watcher that follows a run just started misses nothing.
        self.local_events.open(run.run_id, run.last_event_sequence)
        start = functools.partial(self._start, ticket, run, parent_span_id, prepared, grant)
        waiting = self._admission.enter(ticket, start)
        if waiting is not None:
            self._waiting[run.run_id] = waiting

    def _start(
        self,
        ticket: Ticket,
        run: run_pb2.Run,
        parent_span_id: int,
        prepared: Prepared | None,
        grant: LeaseGrant | None,
    ) -> None:
        """The run's turn came: its task, in a context of its own."""
        self._waiting.pop(run.run_id, None)
        task = asyncio.get_running_loop().create_task(
            self._execute(run, parent_span_id, prepared, grant), context=contextvars.Context()
        )
        self._tasks[run.run_id] = task
        # A callback, not a `finally`: it runs even for a task canceled before it began.
        task.add_done_callback(lambda _: self._executed(run.run_id, ticket))

    def _executed(self, run_id: str, ticket: Ticket) -> None:
        self.local_events.close(run_id)
        self._tasks.pop(run_id, None)
        self._admission.done(ticket)

    def _withdraw(self, run_id: str) -> bool:
        """Takes a run waiting its turn out of the queue; False if it was not waiting."""
        waiting = self._waiting.pop(run_id, None)
        if waiting is None:
            return False
        self._admission.withdraw(waiting)
        self.local_events.close(run_id)
        return True

    def busy(self, run_id: str) -> bool:
        """Whether this router is executing the run now, or will once its turn comes."""
        return run_id in self._tasks or run_id in self._waiting

    def start_recovery(self) -> None:
        self._recovery = asyncio.get_running_loop().create_task(
            self._recover_forever(), context=contextvars.Context()
        )

    async def shutdown(self) -> None:
        """Stops executing without ending runs, and lets the router lease lapse at once:
        a replica resumes them."""
        if self._recovery:
            self._recovery.cancel()
        await self._stop_all()
        await self.relay.close()
        await self._lease.close()

    async def _stop_all(self) -> None:
        """Stops executing every run, leaving each unfinished for whoever claims it."""
        for run_id in list(self._waiting):  # first, or the places freed would start them
            self._withdraw(run_id)
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def cancel(self, run: run_pb2.Run, reason: str, by: str) -> run_pb2.Run:
        # The run's watchers here see the cancel from this router, as every event before.
        held = self.local_events.hold(run.run_id)
        try:
            self._withdraw(run.run_id)  # if it waits its turn here, it never gets it
            task = self._tasks.get(run.run_id)
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            error = errors.Cancelled(
                f"canceled by {by}: {reason}", reason=Reason.RUN_CANCELED
            ).to_status()
            # Another replica may be executing the run: its next append fails (RUN_ENDED).
            return await self._finish(
                self._log(run.tenant, run.run_id, last_sequence=run.last_event_sequence),
                run,
                run_pb2.RUN_STATE_CANCELED,
                error=error,
            )
        finally:
            if held:
                self.local_events.close(run.run_id)

    async def resume(self, decided: approval_pb2.Approval) -> None:
        """Records a decided approval in its run and, if the run was waiting for it, queues
        the run again: it replays its journal up to the decision and goes on from there."""
        tenant, run_id = decided.tenant, decided.run_id
        run = await self._runs.get(tenant, run_id)
        run_log = self._log(tenant, run_id)
        await run_log.append(
            event(
                decided.step_key,
                approval_decided=run_pb2.ApprovalDecided(
                    approval_id=decided.approval_id,
                    outcome=decided.outcome,
                    decided_by=decided.decided_by,
                    comment=decided.comment,
                ),
            )
        )
        if run.state == run_pb2.RUN_STATE_WAITING_APPROVAL:
            self.launch(
                await self._transition(run_log, run, run_pb2.RUN_STATE_QUEUED, "approval decided")
            )

    async def _recover_forever(self) -> None:
        # A run nobody leased within a lease's time of its creation lost its creator.
        pending = self._lease.takeover_pending
        while True:
            try:
                epoch = await self._lease.epoch()
                # Registered anew, or another router's lease lapsed: it may have left runs
                # and audit records (the relay claims those in the background).
                if pending.is_set():
                    self.relay.take_over(epoch)
                pending.clear()
                claimed = await self._repositories.leases.claim_runs(
                    self.owner, epoch, self._settings.lease_seconds, _CLAIMS_PER_PASS
                )
                for found in claimed:
                    self.launch(found.run, grant=found.grant)
                if len(claimed) == _CLAIMS_PER_PASS:
                    pending.set()  # more may wait
                await self._expire_due_approvals()
            except errors.MeshError as exc:
                log.warning("cannot look for unfinished runs: %s", exc.message)
            # Woken early by a heartbeat that saw another router's lease lapse.
            interval = self._settings.recovery_interval_seconds * random.uniform(0.8, 1.2)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(pending.wait(), interval)

    async def _expire_due_approvals(self) -> None:
        """Approvals past their deadline expire; their runs resume to escalate or fail, as
        their workflow says (see reviews.decide)."""
        approvals = self._repositories.approvals
        expiry = Decision(
            outcome=run_pb2.APPROVAL_OUTCOME_EXPIRED,
            decided_by=f"service:router/{self.owner}",
            comment="the deadline passed without a decision",
        )
        for approval in await approvals.list_due(int(time.time() * 1e6), 100):
            try:
                expired = await approvals.decide(approval.tenant, approval.approval_id, expiry)
            except errors.FailedPrecondition:
                continue  # decided meanwhile (by a person or another router)
            await self.resume(expired)

    async def _execute(
        self,
        run: run_pb2.Run,
        parent_span_id: int,
        prepared: Prepared | None,
        lease: LeaseGrant | None,
    ) -> None:
        logs.bind_run(run.run_id)  # the task has a context of its own: nothing to reset
        if lease is None:
            try:
                lease = await self._claim(run.run_id)
            except errors.MeshError as exc:
                log.warning("cannot take the lease of run %s: %s", run.run_id, exc.message)
                return
            if lease is None:
                return  # another router holds it
        run_log, stopped = None, False
        try:
            # The run as it is now that this router holds it: a listed copy may be stale
            # (another replica may have finished it meanwhile); one just created is not.
            if prepared is None:
                run = await self._runs.get(run.tenant, run.run_id)
            if run.state not in EXECUTABLE_STATES:
                return  # ended, or waiting for a human: nothing to do until that changes
            run_log = self._log(
                run.tenant,
                run.run_id,
                lease_owner=self.owner,
                lease_token=lease.token,
                last_sequence=run.last_event_sequence,
            )
            if lease.previous_owner:
                run_log.record(event(lease_taken_over=self._takeover(lease)))
            with _workflow_span(run, parent_span_id) as span:
                await self._drive(run, run_log, span, prepared)
        except asyncio.CancelledError:
            # Canceled by a principal (the canceler records it), or this router stops or
            # lost its lease: the run lease stays as it is, so the router that takes the
            # run over records from whom.
            stopped = True
        except errors.MeshError as exc:
            if _leaves_run_unfinished(exc):
                log.warning(
                    "stopped executing run %s, left for recovery: %s (%s)",
                    run.run_id,
                    exc.message,
                    exc.reason,
                )
            else:
                await self._crashed(run_log, run)
        except Exception:
            await self._crashed(run_log, run)
        finally:
            # The append that ended the run freed its lease in the same transaction.
            if not stopped and not (run_log is not None and run_log.ended):
                await self._release(run.run_id, lease.token)

    async def _drive(
        self, run: run_pb2.Run, run_log: RunLog, span: trace.Span, prepared: Prepared | None
    ) -> None:
        ctx: RunContext | None = None
        try:
            ctx = await self._load(run, run_log, prepared)
            if run.state == run_pb2.RUN_STATE_QUEUED:
                run = self._start_running(run_log, run)
                ctx.run = run
            # A timeout, not wait_for: no second task for each run executing.
            async with asyncio.timeout(max(ctx.time_left(), 0.001)):
                output = await run_pattern(ctx, self._runner, convert.to_dict(run.input))
        except RunPaused as paused:
            if ctx is not None:
                run.usage.CopyFrom(ctx.usage)
            reason = f"waiting for approval {paused.approval_id} by role {paused.role}"
            await self._transition(run_log, run, run_pb2.RUN_STATE_WAITING_APPROVAL, reason)
            return
        except (TimeoutError, RunFailure) as exc:
            failure = (
                exc
                if isinstance(exc, RunFailure)
                else RunFailure("the run exceeded its time budget", Reason.RUN_TIMEOUT)
            )
            if ctx is not None:
                run.usage.CopyFrom(ctx.usage)
            span.set_status(trace.StatusCode.ERROR, failure.code)
            await self._finish(
                run_log, run, run_pb2.RUN_STATE_FAILED, error=failure_status(failure)
            )
            return
        run.usage.CopyFrom(ctx.usage)
        await self._finish(run_log, run, run_pb2.RUN_STATE_COMPLETED, output=output)

    async def _load(
        self, run: run_pb2.Run, run_log: RunLog, prepared: Prepared | None
    ) -> RunContext:
        if prepared is None:
            spec, agents, journal = await self._read(run)
        else:  # a run this router just created: nothing journaled yet
            spec, agents, journal = prepared.spec, prepared.agents, []
        timeout = spec.timeout or self._settings.default_run_timeout_seconds
        elapsed = max(0.0, time.time() - run.create_time.ToSeconds())
        return RunContext(
            run=run,
            spec=spec,
            log=run_log,
            agents=agents,
            journal={entry.step_key: entry for entry in journal},
            deadline=time.monotonic() + timeout - elapsed,
            usage=run_pb2.RunUsage(steps=len(journal)),
        )

    async def _read(
        self, run: run_pb2.Run
    ) -> tuple[WorkflowSpec, dict[str, agent_registry_pb2.Agent], list[state_pb2.JournalEntry]]:
        """The spec, agents and journal of a run, as the state service has them."""
        workflow = await self._repositories.workflows.get(
            run.tenant, run.workflow.name, run.workflow.version
        )
        spec = self._specs.of(workflow)
        agents = await agent_registry.registered(self._repositories.agents, run.tenant, spec.agents)
        for name, agent in agents.items():
            pinned = run.agent_versions.get(name)
            if pinned and agent.card.version != pinned:
                raise RunFailure(
                    f"agent {name} is now version {agent.card.version}; the run is pinned to {pinned}",
                    Reason.AGENT_VERSION_CHANGED,
                    agent=name,
                )
        return spec, agents, await self._runs.journal(run.tenant, run.run_id)

    async def _crashed(self, run_log: RunLog | None, run: run_pb2.Run) -> None:
        log.exception("run %s crashed in the router", run.run_id)
        if run_log is None:
            return  # it crashed before anything happened: it stays unfinished, resumed later
        error = status_pb2.Status(
            code=code_pb2.INTERNAL, message="the router failed executing the run"
        )
        try:
            await self._finish(run_log, run, run_pb2.RUN_STATE_FAILED, error=error)
        except errors.MeshError as exc:
            log.warning("cannot record that run %s failed: %s", run.run_id, exc.message)

    async def _transition(
        self, run_log: RunLog, run: run_pb2.Run, to: run_pb2.RunState, reason: str
    ) -> run_pb2.Run:
        changed = _state_changed(run.state, to, reason)
        return await run_log.append_with_update(
            event(run_state_changed=changed),
            run=run_pb2.Run(run_id=run.run_id, state=to),
            expected_states=ACTIVE_STATES,
            audit=[audit.run_state_changed(self._repositories.policy, run, to, reason)],
        )

    def _start_running(self, run_log: RunLog, run: run_pb2.Run) -> run_pb2.Run:
        """QUEUED to RUNNING without a write of its own: the change and its audit record
        ride with the run's next append (its first step's, or its end). Returns the run
        as it is then."""
        reason = "picked up by " + self.owner
        running = run_pb2.Run()
        running.CopyFrom(run)
        running.state = run_pb2.RUN_STATE_RUNNING
        run_log.change_later(
            event(run_state_changed=_state_changed(run.state, running.state, reason)),
            run=run_pb2.Run(run_id=run.run_id, state=running.state),
            expected_states=ACTIVE_STATES,
            audit=[audit.run_state_changed(self._repositories.policy, run, running.state, reason)],
        )
        return running

    async def _finish(
        self,
        run_log: RunLog,
        run: run_pb2.Run,
        to: run_pb2.RunState,
        *,
        output: dict[str, Any] | None = None,
        error: status_pb2.Status | None = None,
    ) -> run_pb2.Run:
        """Records the end of a run: its last events and its final state in one append,
        so a watcher that sees the run end has already been sent every event."""
        changed = _state_changed(run.state, to)
        ended = run_pb2.Run(run_id=run.run_id, state=to, usage=run.usage)
        if error is not None:
            changed.error.CopyFrom(error)
            changed.reason = error.message
            ended.error.CopyFrom(error)
        events = [event(run_state_changed=changed)]
        if output is not None:
            ended.output.CopyFrom(convert.to_struct(output))
            events.insert(0, event(run_output=run_pb2.RunOutput(output=ended.output)))
        finished = await run_log.append_with_update(
            *events,
            run=ended,
            expected_states=ACTIVE_STATES,
            audit=[audit.run_state_changed(self._repositories.policy, run, to, changed.reason)],
        )
        age = time.time() - run.create_time.ToSeconds() if run.HasField("create_time") else None
        reason = reason_of(error) if error is not None else None
        metrics.record_run_finished(run.workflow.name, to, age, reason or "")
        return finished

    def _log(
        self,
        tenant: str,
        run_id: str,
        lease_owner: str = "",
        lease_token: int = 0,
        last_sequence: int | None = None,
    ) -> RunLog:
        """A writer of the run's log whose acknowledged events reach its watchers here."""
        return RunLog(
            self._runs,
            tenant,
            run_id,
            lease_owner,
            lease_token,
            last_sequence,
            self.local_events,
            self.relay,
        )

    async def _claim(self, run_id: str) -> LeaseGrant | None:
        epoch = await self._lease.epoch()
        return await self._repositories.leases.claim(run_id, self.owner, epoch)

    def _takeover(self, lease: LeaseGrant) -> run_pb2.LeaseTakenOver:
        return run_pb2.LeaseTakenOver(
            previous_owner=lease.previous_owner,
            new_owner=self.owner,
            reason=f"the router lease of {lease.previous_owner} lapsed: it stopped renewing"
            f" it (it stopped, or stalled for more than {self._settings.lease_seconds:g}s)",
            fencing_token=lease.token,
        )

    async def _release(self, run_id: str, token: int) -> None:
        try:
            await self._repositories.leases.release(run_id, self.owner, token)
        except errors.MeshError as exc:
            log.warning("cannot release the lease of %s: %s", run_id, exc.message)


def _state_changed(
    was: run_pb2.RunState, to: run_pb2.RunState, reason: str = ""
) -> run_pb2.RunStateChanged:
    changed = run_pb2.RunStateChanged(to=to, reason=reason)
    setattr(changed, "from", was)  # `from` is a Python keyword
    return changed


def _leaves_run_unfinished(exc: errors.MeshError) -> bool:
    """Errors after which this router stops but the run goes on: another router holds it
    or ended it, or the state service is out of reach (the run is resumed later)."""
    if isinstance(exc, errors.Unavailable | errors.DeadlineExceeded):
        return True
    return isinstance(exc, errors.FailedPrecondition) and exc.reason in (
        Reason.LEASE_NOT_HELD,
        Reason.RUN_ENDED,
        Reason.RUN_STATE_MISMATCH,
    )


def _workflow_span(
    run: run_pb2.Run, parent_span_id: int
) -> contextlib.AbstractContextManager[trace.Span]:
    """The span of executing the run, in the run's trace."""
    return _tracer.start_as_current_span(
        f"invoke_workflow {run.workflow.name}",
        context=trace.set_span_in_context(_parent_span(run.trace_id, parent_span_id)),
        attributes={
            "gen_ai.operation.name": "invoke_workflow",
            "gen_ai.conversation.id": run.run_id,
            "airspace.run.id": run.run_id,
            "airspace.workflow.name": run.workflow.name,
            "airspace.workflow.version": run.workflow.version,
            "airspace.tenant": run.tenant,
        },
    )


def _parent_span(trace_id_hex: str, parent_span_id: int) -> trace.NonRecordingSpan:
    """The remote parent that puts the run's spans into the run's trace."""
    return trace.NonRecordingSpan(
        trace.SpanContext(
            trace_id=int(trace_id_hex, 16),
            span_id=parent_span_id or random.getrandbits(64),
            is_remote=True,
            trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
        )
    )
