"""Runs one workflow step: policy before, the agent with retries and fallback, policy after,
and a journal entry so the step never runs twice for the same run."""

from __future__ import annotations

import asyncio
import dataclasses
import random

from google.protobuf import duration_pb2, struct_pb2
from google.rpc import code_pb2
from opentelemetry import trace

from airspace.agent.v1 import agent_pb2
from airspace.policy.v1 import policy_pb2
from airspace.state.v1 import state_pb2
from airspace.v1 import run_pb2
from services.mesh import telemetry
from services.router import convert, metrics
from services.router.agent_invoker import AgentInvoker, Attempt
from services.router.approval_gate import ApprovalGate
from services.router.guard import Guard, Judgement, agent_subject
from services.router.run_context import RunContext, RunFailure
from services.router.run_log import event
from services.router.spec import RetryPolicy, Step

_tracer = telemetry.tracer("airspace.router")


@dataclasses.dataclass(frozen=True)
class StepResult:
    """What a step produced: its output payload ({"text", "data", "confidence"}), the agent
    that produced it (a fallback may have taken over), and a handoff request if it asked
    for one. Whether a handoff is accepted is the pattern's decision, never the agent's."""

    payload: dict
    agent: str
    handoff_target: str = ""
    handoff_reason: str = ""

    @property
    def confidence(self) -> float | None:
        return self.payload.get("confidence")


def backoff(policy: RetryPolicy, failed_attempt: int) -> float:
    """Exponential backoff with full jitter."""
    ceiling = min(
        policy.max_backoff, policy.initial_backoff * policy.multiplier ** (failed_attempt - 1)
    )
    return random.uniform(0, ceiling)


def _duration(seconds: float) -> duration_pb2.Duration:
    value = duration_pb2.Duration()
    value.FromNanoseconds(int(seconds * 1e9))
    return value


class StepRunner:
    def __init__(
        self, guard: Guard, invoker: AgentInvoker, gate: ApprovalGate, default_timeout: float
    ):
        self._guard = guard
        self._invoker = invoker
        # Patterns ask for human decisions through the runner they are given.
        self.gate = gate
        self._default_timeout = default_timeout

    async def run(
        self,
        ctx: RunContext,
        key: str,
        step: Step,
        step_input: dict,
        context: list[dict],
        *,
        handoff_targets: list[str] | None = None,
    ) -> StepResult:
        """Runs the step (or reads it from the journal) and returns its result.

        `handoff_targets` are the agents the workflow lets this step hand off to; None
        means the pattern has no handoffs and a handoff request fails the step."""
        done = ctx.journal.get(key)
        if done is not None:  # completed before a restart: never invoke it again
            return _journaled_result(done)
        if ctx.spec.budget.max_steps and ctx.usage.steps >= ctx.spec.budget.max_steps:
            raise RunFailure(
                f"the run used its budget of {ctx.spec.budget.max_steps} steps",
                "BUDGET_EXCEEDED",
                key,
            )
        agent_name = step.agent
        while True:
            try:
                return await self._run_with_agent(
                    ctx, key, step, agent_name, step_input, context, handoff_targets
                )
            except RunFailure as failure:
                if (
                    not step.fallback_agent
                    or agent_name == step.fallback_agent
                    or not failure.agent
                ):
                    raise
                await ctx.log.append(
                    event(
                        key,
                        step.fallback_agent,
                        routing_decision=run_pb2.RoutingDecision(
                            kind=run_pb2.ROUTING_KIND_FALLBACK,
                            candidates=[agent_name, step.fallback_agent],
                            chosen=step.fallback_agent,
                            decided_by=f"step:{step.name}.fallback_agent",
                            reason=f"{agent_name} failed: {failure.message}",
                        ),
                    )
                )
                agent_name = step.fallback_agent

    async def _run_with_agent(
        self, ctx, key, step, agent_name, step_input, context, handoff_targets
    ) -> StepResult:
        registration = ctx.agent(agent_name, key)
        clearances = [agent_pb2.DataClass.Name(c) for c in registration.card.clearances]
        resource = policy_pb2.Resource(kind="agent", name=agent_name, tenant=ctx.tenant)
        resource.attributes.update({"workflow": ctx.spec.name, "step": step.name})
        subject = agent_subject(agent_name, ctx.tenant)
        judged_input = await self._guard.judge(
            "step.input",
            subject,
            resource,
            {"input": step_input, "context": context},
            run_id=ctx.run_id,
            step_key=key,
            clearances=clearances,
        )
        await _enforce(ctx, key, agent_name, judged_input)
        start = self._start_message(ctx, key, step, agent_name, judged_input.payload)
        start.allowed_handoffs.extend(handoff_targets or ())

        attempt_no = 0
        while True:
            attempt_no += 1
            start.attempt = attempt_no
            attempt = await self._attempt(ctx, key, step, registration, start)
            if attempt.final is not None:
                break
            if attempt.handoff is not None:
                if handoff_targets is not None:
                    break
                await self._refuse_handoff(ctx, key, agent_name, attempt.handoff)
                attempt.failure = f"asked to hand off to {attempt.handoff.target!r}, which a {ctx.spec.pattern} workflow does not allow"
                attempt.failure_code, attempt.retryable = "HANDOFF_NOT_ALLOWED", False
            will_retry = attempt.retryable and attempt_no < step.retry.max_attempts
            await self._record_failure(ctx, key, step, agent_name, attempt_no, attempt, will_retry)
            if not will_retry:
                raise RunFailure(
                    f"step {step.name!r} (agent {agent_name}) failed after {attempt_no} attempt(s): {attempt.failure}",
                    attempt.failure_code,
                    key,
                    agent_name,
                )
            delay = min(backoff(step.retry, attempt_no), max(ctx.time_left(), 0))
            await ctx.log.append(
                event(
                    key,
                    agent_name,
                    retry_scheduled=run_pb2.RetryScheduled(
                        next_attempt=attempt_no + 1,
                        backoff=_duration(delay),
                        reason=attempt.failure,
                    ),
                )
            )
            metrics.record_retry(agent_name)
            await asyncio.sleep(delay)

        produced = attempt.final or _handoff_output(attempt.handoff)
        output = convert.output_payload(produced)
        judged_output = await self._guard.judge(
            "step.output",
            subject,
            resource,
            output,
            run_id=ctx.run_id,
            step_key=key,
            clearances=clearances,
        )
        await _enforce(ctx, key, agent_name, judged_output)
        final = _with_payload(produced, judged_output.payload)
        checkpoint = struct_pb2.Struct()
        if attempt.handoff is not None:
            checkpoint.update(
                {"handoff": {"target": attempt.handoff.target, "reason": attempt.handoff.reason}}
            )
        ctx.usage.steps += 1
        ctx.usage.tokens += attempt.usage.input_tokens + attempt.usage.output_tokens
        ctx.usage.cost_micros += attempt.usage.cost_micros
        await ctx.log.append(
            event(
                key,
                agent_name,
                step_completed=run_pb2.StepCompleted(
                    step_name=step.name,
                    branch=step.branch,
                    attempt=attempt_no,
                    output=final,
                    duration=_duration(attempt.duration),
                ),
            ),
            journal=[
                state_pb2.JournalEntry(
                    step_key=key,
                    step_name=step.name,
                    agent=agent_name,
                    attempt=attempt_no,
                    output=final,
                    checkpoint=checkpoint,
                )
            ],
        )
        return StepResult(
            judged_output.payload,
            agent_name,
            attempt.handoff.target if attempt.handoff else "",
            attempt.handoff.reason if attempt.handoff else "",
        )

    def _start_message(
        self, ctx: RunContext, key, step, agent_name, masked: dict
    ) -> agent_pb2.InvokeStart:
        step_input = masked["input"]
        start = agent_pb2.InvokeStart(
            idempotency_key=f"{ctx.run_id}/{key}",
            run_id=ctx.run_id,
            step_key=key,
            trace_id=ctx.run.trace_id,
            tenant=ctx.tenant,
            workflow=ctx.run.workflow,
            step_name=step.name,
            input=convert.build_message(
                agent_pb2.ROLE_USER, "router", step_input.get("text", ""), step_input.get("data")
            ),
            context=[
                convert.build_message(
                    item.get("role", agent_pb2.ROLE_AGENT),
                    item.get("author", ""),
                    item.get("text", ""),
                    item.get("data"),
                )
                for item in masked["context"]
            ],
            memory_namespace=f"run/{ctx.run_id}",
            hop_count=ctx.usage.hops,
            allowed_actions=step.actions,
        )
        start.parameters.update(step.parameters)
        budget = ctx.spec.budget
        if budget.max_steps:
            start.budget.steps_left = budget.max_steps - ctx.usage.steps
        start.budget.time_left.FromNanoseconds(int(max(ctx.time_left(), 0) * 1e9))
        return start

    async def _attempt(self, ctx, key, step, registration, start) -> Attempt:
        agent_name = registration.agent
        timeout = min(step.timeout or self._default_timeout, ctx.time_left())
        if timeout <= 0:
            raise RunFailure("the run ran out of time", "RUN_TIMEOUT", key, "")
        await ctx.log.append(
            event(
                key,
                agent_name,
                step_started=run_pb2.StepStarted(
                    step_name=step.name,
                    branch=step.branch,
                    attempt=start.attempt,
                    idempotency_key=start.idempotency_key,
                    agent_version=registration.card.version,
                ),
            )
        )

        async def forward(agent_event: agent_pb2.InvokeEvent) -> None:
            kind = agent_event.WhichOneof("kind")
            if kind == "progress":
                recorded = event(
                    key,
                    agent_name,
                    agent_progress=run_pb2.AgentProgress(progress=agent_event.progress),
                )
            elif kind == "partial":
                recorded = event(key, agent_name, partial_output=agent_event.partial)
            else:
                recorded = event(key, agent_name, usage_reported=agent_event.usage)
            await ctx.log.append(recorded)

        async def decide_action(request: agent_pb2.ActionRequest) -> agent_pb2.ActionDecision:
            return await self._decide_action(ctx, key, agent_name, start, request)

        with _tracer.start_as_current_span(
            f"invoke_agent {agent_name}",
            kind=trace.SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": agent_name,
                "gen_ai.agent.version": registration.card.version,
                "gen_ai.conversation.id": ctx.run_id,
                "airspace.run.id": ctx.run_id,
                "airspace.step.key": key,
                "airspace.attempt": start.attempt,
            },
        ) as span:
            attempt = await self._invoker.invoke(
                registration.endpoint, start, timeout, forward, decide_action
            )
            metrics.record_step_attempt(agent_name, attempt.duration, not attempt.failure)
            span.set_attribute("gen_ai.usage.input_tokens", attempt.usage.input_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", attempt.usage.output_tokens)
            if attempt.failure:
                span.set_status(trace.StatusCode.ERROR, attempt.failure_code)
        return attempt

    async def _decide_action(
        self, ctx, key, agent_name, start, request
    ) -> agent_pb2.ActionDecision:
        resource = policy_pb2.Resource(kind="action", name=request.name, tenant=ctx.tenant)
        resource.attributes.update({"workflow": ctx.spec.name, "agent": agent_name})
        judged = await self._guard.judge(
            "agent.action",
            agent_subject(agent_name, ctx.tenant),
            resource,
            {"name": request.name, "arguments": convert.to_dict(request.arguments)},
            run_id=ctx.run_id,
            step_key=key,
        )
        if request.name not in start.allowed_actions and judged.allowed:
            verdict = agent_pb2.ACTION_VERDICT_DENIED
            reason = f"action {request.name!r} is not allowed in this step"
        elif judged.allowed:
            verdict, reason = agent_pb2.ACTION_VERDICT_ALLOWED, judged.explain()
        elif judged.verdict.verdict == run_pb2.VERDICT_REQUIRE_APPROVAL:
            verdict, reason = agent_pb2.ACTION_VERDICT_PENDING_APPROVAL, judged.explain()
        else:
            verdict, reason = agent_pb2.ACTION_VERDICT_DENIED, judged.explain()
        decision = agent_pb2.ActionDecision(
            action_id=request.action_id, verdict=verdict, reason=reason
        )
        masked_request = agent_pb2.ActionRequest(
            action_id=request.action_id, name=request.name, reason=request.reason
        )
        masked_request.arguments.update(judged.payload.get("arguments", {}))
        await ctx.log.append(
            event(
                key, agent_name, action_requested=run_pb2.ActionRequested(request=masked_request)
            ),
            event(key, agent_name, guardrail_verdict=judged.verdict),
            event(key, agent_name, action_decided=run_pb2.ActionDecided(decision=decision)),
        )
        metrics.record_guardrail_verdict(judged.verdict)
        return decision

    async def _refuse_handoff(
        self, ctx, key, agent_name, handoff: agent_pb2.HandoffRequest
    ) -> None:
        await ctx.log.append(
            event(
                key,
                agent_name,
                handoff=run_pb2.Handoff(
                    from_agent=agent_name,
                    to_agent=handoff.target,
                    reason=handoff.reason,
                    accepted=False,
                    decision_reason=f"the {ctx.spec.pattern} pattern has no handoff graph",
                    hop=ctx.usage.hops,
                ),
            )
        )
        metrics.record_handoff(agent_name, accepted=False)

    async def _record_failure(self, ctx, key, step, agent_name, attempt_no, attempt, will_retry):
        error = run_pb2.StepFailed(
            step_name=step.name,
            branch=step.branch,
            attempt=attempt_no,
            will_retry=will_retry,
            duration=_duration(attempt.duration),
        )
        error.error.code = code_pb2.UNKNOWN  # the agent's own failure, described in the message
        error.error.message = f"{attempt.failure_code}: {attempt.failure}"
        await ctx.log.append(event(key, agent_name, step_failed=error))


async def _enforce(ctx: RunContext, key: str, agent_name: str, judgement: Judgement) -> None:
    """Records a guardrail verdict and stops the step unless it allows going on."""
    await ctx.log.append(event(key, agent_name, guardrail_verdict=judgement.verdict))
    metrics.record_guardrail_verdict(judgement.verdict)
    if judgement.allowed:
        return
    code = "POLICY_DENIED"
    if judgement.verdict.verdict == run_pb2.VERDICT_REQUIRE_APPROVAL:
        code = "APPROVAL_REQUIRED"  # human approval of steps is not wired yet: the run stops
    raise RunFailure(f"policy refused the step: {judgement.explain()}", code, key, "")


def _with_payload(final: agent_pb2.FinalOutput, payload: dict) -> agent_pb2.FinalOutput:
    """The agent's output with policy's masks carried out on its text and data."""
    masked = agent_pb2.FinalOutput()
    masked.CopyFrom(final)
    masked.message.CopyFrom(
        convert.build_message(agent_pb2.ROLE_AGENT, final.message.author, payload.get("text", ""))
    )
    masked.data.Clear()
    masked.data.update(payload.get("data", {}))
    return masked


def _handoff_output(handoff: agent_pb2.HandoffRequest) -> agent_pb2.FinalOutput:
    """What a handing-off agent produced, checked by policy like any output."""
    return agent_pb2.FinalOutput(message=handoff.message, data=handoff.data)


def _journaled_result(entry: state_pb2.JournalEntry) -> StepResult:
    handoff = convert.to_dict(entry.checkpoint).get("handoff", {})
    return StepResult(
        convert.output_payload(entry.output),
        entry.agent,
        handoff.get("target", ""),
        handoff.get("reason", ""),
    )
