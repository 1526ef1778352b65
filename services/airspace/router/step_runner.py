"""Runs one workflow step: policy before, the agent with retries and fallback, policy after,
and a journal entry so the step never runs twice for the same run."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import random

from google.protobuf import duration_pb2, struct_pb2
from google.rpc import code_pb2
from opentelemetry import trace

from airspace.agent.v1 import agent_pb2
from airspace.mesh import telemetry
from airspace.policy.v1 import policy_pb2
from airspace.router import convert, metrics, reviews, validation
from airspace.router.agent_invoker import AgentInvoker, Attempt
from airspace.router.approval_gate import ApprovalGate, expired, expiry
from airspace.router.clients import call
from airspace.router.guard import Guard, Judgement, agent_subject
from airspace.router.run_context import RunContext, RunFailure
from airspace.router.run_log import event
from airspace.router.spec import RetryPolicy, Step
from airspace.router.step_key import StepKey
from airspace.state.v1 import state_pb2
from airspace.v1 import approval_pb2, run_pb2

_tracer = telemetry.tracer("airspace.router")
# How long an agent's progress may wait in the run log's buffer before watchers see it.
LIVE_EVENT_DELAY = 0.25
OUTPUT_INVALID = "OUTPUT_INVALID"


@dataclasses.dataclass(frozen=True)
class StepResult:
    """What a step produced: its output payload ({"text", "data", "confidence"}), the agent
    that produced it (a fallback may have taken over), and a handoff request if it asked
    for one. Whether a handoff is accepted is the pattern's decision, never the agent's."""

    payload: dict
    agent: str
    handoff_target: str = ""
    handoff_reason: str = ""
    # Why a person must review the output before the run goes on (see reviews.py).
    review: dict | None = None

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
        step_key: StepKey,
        step: Step,
        step_input: dict,
        context: list[dict],
        *,
        handoff_targets: list[str] | None = None,
    ) -> StepResult:
        """Runs the step (or reads it from the journal) and returns its result.

        `handoff_targets` are the agents the workflow lets this step hand off to; None
        means the pattern has no handoffs and a handoff request fails the step."""
        key = str(step_key)
        point = reviews.point_of(step)
        if point.before:
            approval = await reviews.decide(
                self.gate,
                ctx,
                f"{key}-before",
                approval_pb2.APPROVAL_KIND_CHECKPOINT,
                point,
                point.role,
                f"Step {step.name!r} ({step.agent}) waits for a go-ahead.",
                step_input,
            )
            if approval.outcome == run_pb2.APPROVAL_OUTCOME_REJECTED:
                raise reviews.rejection(approval, key)
        result = await self._run_once(ctx, key, step, step_input, context, handoff_targets)
        for retry in range(1, point.max_reviews + 2):
            if result.review is None:
                return result
            review_key = key if retry == 1 else f"{key}-retry{retry - 1}"
            approval = await reviews.decide(
                self.gate,
                ctx,
                f"{review_key}-review",
                reviews.KINDS[result.review["kind"]],
                point,
                result.review["role"],
                f"Review the output of step {step.name!r}: {result.review['reason']}.",
                result.payload,
            )
            if approval.outcome == run_pb2.APPROVAL_OUTCOME_APPROVED:
                return dataclasses.replace(result, review=None)
            if approval.outcome == run_pb2.APPROVAL_OUTCOME_EDITED:
                return await self._edited(ctx, key, step, result, approval)
            if point.on_reject != "retry" or retry > point.max_reviews:
                raise reviews.rejection(approval, key)
            comment = {
                "author": approval.decided_by,
                "role": agent_pb2.ROLE_SYSTEM,
                "text": approval.comment,
                "data": {},
            }
            result = await self._run_once(
                ctx, f"{key}-retry{retry}", step, step_input, [*context, comment], handoff_targets
            )
        raise reviews.rejection(approval, key)

    async def _edited(self, ctx, key, step, result: StepResult, approval) -> StepResult:
        """An approver's edit replaces the output once it passes the same checks as agent output."""
        edited = convert.to_dict(approval.edited_payload)
        payload = {"text": edited.get("text", ""), "data": edited.get("data", {})}
        invalid = validation.output_problems(step.output, payload)
        if invalid:
            raise RunFailure(
                f"the edit of {approval.decided_by} is not valid output of step {step.name!r}: {invalid}",
                OUTPUT_INVALID,
                key,
            )
        resource = policy_pb2.Resource(kind="agent", name=result.agent, tenant=ctx.tenant)
        judged = await self._guard.judge(
            "step.output",
            agent_subject(result.agent, ctx.tenant),
            resource,
            payload,
            run_id=ctx.run_id,
            step_key=key,
        )
        await _enforce(ctx, f"{key}-edited", result.agent, judged)
        return dataclasses.replace(result, payload=judged.payload, review=None)

    async def _run_once(self, ctx, key, step, step_input, context, handoff_targets) -> StepResult:
        """The step's agent work, journaled: from the journal when it completed before."""
        done = ctx.journal.get(key)
        if done is not None:  # completed before a restart: never invoke it again
            _meter_journaled(ctx, done)
            return _journaled_result(done)
        if ctx.spec.budget.max_steps and ctx.usage.steps >= ctx.spec.budget.max_steps:
            raise RunFailure(
                f"the run used its budget of {ctx.spec.budget.max_steps} steps",
                "BUDGET_EXCEEDED",
                key,
            )
        _check_spend(ctx, key, before_step=True)
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
                ctx.log.record(
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
        if judged_input.needs_approval:
            approval = await reviews.decide(
                self.gate,
                ctx,
                f"{key}-input",
                approval_pb2.APPROVAL_KIND_POLICY,
                reviews.point_of(step),
                judged_input.approver_role or reviews.point_of(step).role,
                f"Policy asks a person before {agent_name} receives this input: {judged_input.explain()}.",
                judged_input.payload["input"],
            )
            if approval.outcome == run_pb2.APPROVAL_OUTCOME_REJECTED:
                raise reviews.rejection(approval, key)
        start = self._start_message(ctx, key, step, agent_name, judged_input.payload)
        start.allowed_handoffs.extend(handoff_targets or ())
        start.prior_action_decisions.extend(await self._decided_actions(ctx, key))
        pending: dict[str, tuple[agent_pb2.ActionRequest, str]] = {}

        attempt_no = 0
        while True:
            attempt_no += 1
            start.attempt = attempt_no
            attempt = await self._attempt(ctx, key, step, registration, start, pending)
            if attempt.final is not None:
                break
            if attempt.failure_code == "AGENT_PENDING_APPROVAL" and pending:
                await self._ask_about_actions(ctx, key, agent_name, pending)
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
            ctx.log.record(
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
        invalid = validation.output_problems(step.output, output)
        if invalid:
            attempt.failure, attempt.failure_code = invalid, OUTPUT_INVALID
            await self._record_failure(ctx, key, step, agent_name, attempt_no, attempt, False)
            raise RunFailure(
                f"step {step.name!r} (agent {agent_name}) produced invalid output: {invalid}",
                OUTPUT_INVALID,
                key,
                agent_name,
            )
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
        review = reviews.output_review(
            step,
            judged_output.payload,
            judged_output.approver_role,
            judged_output.explain() if judged_output.needs_approval else "",
        )
        checkpoint = struct_pb2.Struct()
        if attempt.handoff is not None:
            checkpoint.update(
                {"handoff": {"target": attempt.handoff.target, "reason": attempt.handoff.reason}}
            )
        if review is not None:
            checkpoint.update({"review": review})
        spent = attempt.usage.input_tokens + attempt.usage.output_tokens
        # Kept with the step, so a replay (after a pause or a restart) meters it again.
        checkpoint.update({"usage": {"tokens": spent, "cost_micros": attempt.usage.cost_micros}})
        ctx.usage.steps += 1
        ctx.usage.tokens += spent
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
        _check_spend(ctx, key, before_step=False)
        return StepResult(
            judged_output.payload,
            agent_name,
            attempt.handoff.target if attempt.handoff else "",
            attempt.handoff.reason if attempt.handoff else "",
            review,
        )

    async def _decided_actions(self, ctx: RunContext, key: str) -> list[agent_pb2.ActionDecision]:
        """Decisions people took on this step's actions in an earlier attempt, bound to the
        exact arguments they approved; the agent uses them instead of asking again."""
        response = await call(
            self.gate.state.ListApprovals,
            state_pb2.ListApprovalsRequest(
                tenant=ctx.tenant,
                run_id=ctx.run_id,
                state=approval_pb2.APPROVAL_STATE_DECIDED,
                page_size=1000,
            ),
        )
        decisions = []
        for approval in response.approvals:
            if (
                approval.kind != approval_pb2.APPROVAL_KIND_ACTION
                or not approval.step_key.startswith(f"{key}-action-")
            ):
                continue
            asked = convert.to_dict(approval.payload)
            approved = approval.outcome != run_pb2.APPROVAL_OUTCOME_REJECTED
            arguments = (
                approval.edited_payload
                if approval.outcome == run_pb2.APPROVAL_OUTCOME_EDITED
                else approval.payload["arguments"]
            )
            decision = agent_pb2.ActionDecision(
                action_id=asked["action_id"],
                verdict=agent_pb2.ACTION_VERDICT_ALLOWED
                if approved
                else agent_pb2.ACTION_VERDICT_DENIED,
                reason=f"{run_pb2.ApprovalOutcome.Name(approval.outcome)} by {approval.decided_by}: {approval.comment}",
                approval_id=approval.approval_id,
            )
            if approved:
                decision.arguments.CopyFrom(arguments)
            decisions.append(decision)
        return decisions

    async def _ask_about_actions(self, ctx, key, agent_name, pending) -> None:
        """Actions policy holds for a person: one approval each, bound to the exact action
        and arguments; the run pauses until they are decided."""
        for action_id, (request, role, binding) in pending.items():
            payload = {
                "action_id": action_id,
                "name": request.name,
                "arguments": convert.to_dict(request.arguments),
            }
            approval = await self.gate.decision(
                ctx,
                _action_key(key, action_id, binding),
                approval_pb2.APPROVAL_KIND_ACTION,
                role,
                f"{agent_name} asks to perform {request.name}: {request.reason}",
                payload,
            )
            if expired(approval):
                raise expiry(approval, key)

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
        if budget.max_tokens:
            start.budget.tokens_left = budget.max_tokens - ctx.usage.tokens
        if budget.max_cost_micros:
            start.budget.cost_micros_left = budget.max_cost_micros - ctx.usage.cost_micros
        if ctx.spec.hop_limit is not None:
            start.budget.hops_left = max(ctx.spec.hop_limit - ctx.usage.hops, 0)
        start.budget.time_left.FromNanoseconds(int(max(ctx.time_left(), 0) * 1e9))
        return start

    async def _attempt(self, ctx, key, step, registration, start, pending) -> Attempt:
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
            ctx.log.record(recorded)
            await ctx.log.flush(older_than=LIVE_EVENT_DELAY)

        async def decide_action(request: agent_pb2.ActionRequest) -> agent_pb2.ActionDecision:
            return await self._decide_action(ctx, key, agent_name, start, request, pending)

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
                registration.endpoint,
                start,
                timeout,
                forward,
                decide_action,
                protocol=registration.protocol,
            )
            metrics.record_step_attempt(agent_name, attempt.duration, not attempt.failure)
            span.set_attribute("gen_ai.usage.input_tokens", attempt.usage.input_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", attempt.usage.output_tokens)
            if attempt.failure:
                span.set_status(trace.StatusCode.ERROR, attempt.failure_code)
        return attempt

    async def _decide_action(
        self, ctx, key, agent_name, start, request, pending
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
        binding = _binding(request)
        approved_before = next(
            (
                prior
                for prior in start.prior_action_decisions
                if prior.approval_id == _action_approval_id(ctx, key, request.action_id, binding)
            ),
            None,
        )
        if request.name not in start.allowed_actions:
            # Whatever the agent was told (by a document, say), the workflow decides.
            allowed = ", ".join(start.allowed_actions) or "none"
            decision = _action_decision(
                request,
                agent_pb2.ACTION_VERDICT_DENIED,
                f"action {request.name!r} is not allowed in this step (allowed: {allowed})",
            )
        elif judged.needs_approval and approved_before is not None:
            decision = approved_before  # this action, these arguments: a person decided
        elif judged.allowed:
            decision = _action_decision(request, agent_pb2.ACTION_VERDICT_ALLOWED, judged.explain())
        elif judged.needs_approval:
            decision = _action_decision(
                request, agent_pb2.ACTION_VERDICT_PENDING_APPROVAL, judged.explain()
            )
            masked = agent_pb2.ActionRequest(
                action_id=request.action_id, name=request.name, reason=request.reason
            )
            masked.arguments.update(judged.payload.get("arguments", {}))
            pending[request.action_id] = (masked, judged.approver_role or "approver", binding)
        else:
            decision = _action_decision(request, agent_pb2.ACTION_VERDICT_DENIED, judged.explain())
        masked_request = agent_pb2.ActionRequest(
            action_id=request.action_id, name=request.name, reason=request.reason
        )
        masked_request.arguments.update(judged.payload.get("arguments", {}))
        ctx.log.record(
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
        ctx.log.record(
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
        ctx.log.record(event(key, agent_name, step_failed=error))


async def _enforce(ctx: RunContext, key: str, agent_name: str, judgement: Judgement) -> None:
    """Records a guardrail verdict and stops the step unless it allows going on."""
    ctx.log.record(event(key, agent_name, guardrail_verdict=judgement.verdict))
    metrics.record_guardrail_verdict(judgement.verdict)
    if judgement.allowed or judgement.needs_approval:  # a person decides: see reviews.py
        return
    raise RunFailure(f"policy refused the step: {judgement.explain()}", "POLICY_DENIED", key, "")


def _action_decision(request: agent_pb2.ActionRequest, verdict: int, reason: str):
    return agent_pb2.ActionDecision(action_id=request.action_id, verdict=verdict, reason=reason)


def _binding(request: agent_pb2.ActionRequest) -> str:
    """Digest of the exact action and arguments an approval is for, so a request with other
    arguments never finds it. Unkeyed: whoever sees an approval may read the run's data."""
    exact = {"name": request.name, "arguments": convert.to_dict(request.arguments)}
    canonical = json.dumps(exact, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _action_key(key: str, action_id: str, binding: str) -> str:
    return f"{key}-action-{action_id}-{binding}"


def _action_approval_id(ctx: RunContext, key: str, action_id: str, binding: str) -> str:
    return f"{ctx.run_id}-{_action_key(key, action_id, binding)}"  # as ApprovalGate names it


def _check_spend(ctx: RunContext, key: str, *, before_step: bool) -> None:
    """Ends the run once the tokens or cost its agents reported pass the run's budget (or,
    before a step, leave nothing for it)."""
    budget, usage = ctx.spec.budget, ctx.usage
    for spent, limit, unit, field in (
        (usage.tokens, budget.max_tokens, "tokens", "max_tokens"),
        (usage.cost_micros, budget.max_cost_micros, "micro-units of cost", "max_cost_micros"),
    ):
        if limit and (spent > limit or (before_step and spent == limit)):
            share = "over" if spent > limit else "all of"
            raise RunFailure(
                f"the run's agents reported {spent} {unit}, {share} its budget of {limit} "
                f"(budget.{field})",
                "BUDGET_EXCEEDED",
                key,
            )


def _meter_journaled(ctx: RunContext, entry: state_pb2.JournalEntry) -> None:
    """Adds what a step completed before a replay spent (its steps are counted already)."""
    usage = convert.to_dict(entry.checkpoint).get("usage", {})
    ctx.usage.tokens += int(usage.get("tokens", 0))
    ctx.usage.cost_micros += int(usage.get("cost_micros", 0))


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
    checkpoint = convert.to_dict(entry.checkpoint)
    handoff = checkpoint.get("handoff", {})
    return StepResult(
        convert.output_payload(entry.output),
        entry.agent,
        handoff.get("target", ""),
        handoff.get("reason", ""),
        checkpoint.get("review"),
    )
