"""Concurrent pattern: fan out to every branch at once, fan in through an aggregator.

Latency is that of the slowest branch. Branches that disagree on the workflow's
field are a recorded conflict, resolved as the workflow says: a rule, the highest
confidence, the synthesizer agent, or a person. With `on_branch_failure: continue`, the
branches that failed are named in the output (and told to a synthesizer), with their reason.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import Counter
from collections.abc import Awaitable, Mapping
from typing import Any

from airspace.agent.v1 import agent_pb2
from airspace.mesh.reasons import Reason
from airspace.router import convert
from airspace.router.approval_gate import expired, expiry
from airspace.router.conditions import holds
from airspace.router.patterns.common import record_decision
from airspace.router.payload import ContextItem, Payload
from airspace.router.run_context import RunContext, RunFailure
from airspace.router.run_log import event
from airspace.router.spec.model import Aggregate, Step
from airspace.router.step.call import StepResult
from airspace.router.step_key import StepKey
from airspace.router.step_runner import StepRunner
from airspace.v1 import approval_pb2, run_pb2

FAN_OUT_KEY = StepKey.named("fan-out")
AGGREGATE_KEY = StepKey.named("aggregate")
SYNTHESIZE_KEY = StepKey.named("synthesize")


@dataclasses.dataclass(frozen=True)
class _FanIn:
    """What the aggregator works with once the branches are back."""

    ctx: RunContext
    runner: StepRunner
    aggregate: Aggregate
    run_input: dict[str, Any]
    base: Payload  # the step input, before each branch's selection of fields
    succeeded: dict[str, StepResult]
    failed: dict[str, RunFailure]


async def run_concurrent(
    ctx: RunContext, runner: StepRunner, run_input: dict[str, Any]
) -> dict[str, Any]:
    aggregate = ctx.spec.aggregate
    branches = ctx.spec.branches
    names = [branch.name for branch in branches]
    await record_decision(
        ctx,
        FAN_OUT_KEY,
        "",
        run_pb2.ROUTING_KIND_FAN_OUT,
        names,
        ",".join(names),
        "pattern:concurrent",
        f"fan out to {len(names)} branches at once",
    )
    base = Payload.of_run_input(run_input)
    runs = {
        branch.name: runner.run(
            ctx, StepKey.branch(branch.name), branch, base.as_input(branch.input.fields), []
        )
        for branch in branches
    }
    if aggregate.strategy == "first_success":
        return await _first_success(ctx, runs)
    outcomes = await asyncio.gather(*runs.values(), return_exceptions=True)
    succeeded, failed = _split(dict(zip(runs, outcomes, strict=True)))
    _enforce_failures(aggregate, succeeded, failed, len(branches))
    fan_in = _FanIn(ctx, runner, aggregate, run_input, base, succeeded, failed)
    if aggregate.strategy == "synthesizer":
        return await _synthesize(fan_in, "aggregate strategy: synthesizer")
    winner, reason = _agreement(aggregate, succeeded)
    if winner is None and aggregate.field and len(_answers(aggregate, succeeded)) > 1:
        return await _resolve_conflict(fan_in, reason)
    return await _decided(fan_in, winner, f"strategy:{aggregate.strategy}", reason)


def _split(
    outcomes: dict[str, StepResult | BaseException],
) -> tuple[dict[str, StepResult], dict[str, RunFailure]]:
    succeeded, failed = {}, {}
    for name, outcome in outcomes.items():
        if isinstance(outcome, RunFailure):
            failed[name] = outcome
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            succeeded[name] = outcome
    return succeeded, failed


def _enforce_failures(
    aggregate: Aggregate,
    succeeded: dict[str, StepResult],
    failed: dict[str, RunFailure],
    total: int,
) -> None:
    if failed and aggregate.on_branch_failure == "fail":
        raise next(iter(failed.values()))
    if len(succeeded) < aggregate.min_success:
        reasons = "; ".join(f"{name}: {failure.code}" for name, failure in failed.items())
        raise RunFailure(
            f"only {len(succeeded)} of {total} branches succeeded (need {aggregate.min_success}): {reasons}",
            Reason.BRANCHES_FAILED,
        )


async def _first_success(
    ctx: RunContext, runs: Mapping[str, Awaitable[StepResult]]
) -> dict[str, Any]:
    tasks = {asyncio.ensure_future(coro): name for name, coro in runs.items()}
    failures = []
    try:
        for finished in asyncio.as_completed(tasks):
            try:
                result = await finished
            except RunFailure as failure:
                failures.append(failure)
                continue
            await record_decision(
                ctx,
                AGGREGATE_KEY,
                result.agent,
                run_pb2.ROUTING_KIND_AGGREGATE,
                list(runs),
                result.agent,
                "strategy:first_success",
                "the first branch to succeed wins; the others are canceled",
            )
            return {"agent": result.agent, **result.payload.to_dict()}
    finally:
        for task in tasks:
            task.cancel()
    raise RunFailure(
        f"no branch succeeded: {'; '.join(f.message for f in failures)}", Reason.BRANCHES_FAILED
    )


def _value(result: StepResult, field: str) -> str:
    """A branch's answer on `field`, as comparable text."""
    value = result.payload.data.get(field)
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _answers(aggregate: Aggregate, succeeded: dict[str, StepResult]) -> dict[str, str]:
    return (
        {name: _value(result, aggregate.field) for name, result in succeeded.items()}
        if aggregate.field
        else {}
    )


def _agreement(aggregate: Aggregate, succeeded: dict[str, StepResult]) -> tuple[str | None, str]:
    """The answer the strategy settles on, or None when the branches conflict."""
    answers = _answers(aggregate, succeeded)
    if not answers:
        return None, "collected every branch"
    votes = Counter(answers.values()).most_common()
    top, count = votes[0]
    if aggregate.strategy == "quorum":
        if count >= aggregate.quorum:
            return top, f"{count} of {len(answers)} branches agree (quorum {aggregate.quorum})"
        return None, f"no answer reached the quorum of {aggregate.quorum}"
    if len(votes) == 1:
        return top, f"all {count} branches agree"
    if aggregate.strategy == "vote" and count > votes[1][1]:
        return top, f"majority {count} of {len(answers)}"
    return None, f"branches disagree on {aggregate.field}: {dict(Counter(answers.values()))}"


async def _decided(
    fan_in: _FanIn, winner: str | None, decided_by: str, reason: str
) -> dict[str, Any]:
    ctx, aggregate, succeeded = fan_in.ctx, fan_in.aggregate, fan_in.succeeded
    await record_decision(
        ctx,
        AGGREGATE_KEY,
        "",
        run_pb2.ROUTING_KIND_AGGREGATE,
        sorted(set(_answers(aggregate, succeeded).values())) or list(succeeded),
        winner or "collect",
        decided_by,
        reason,
    )
    data: dict[str, Any] = {"branches": _branches(succeeded), **_failures(fan_in.failed)}
    if aggregate.field and winner is not None:
        data[aggregate.field] = winner
        votes = Counter(_answers(aggregate, succeeded).values())
        data["votes"] = dict(votes)
        text = f"{aggregate.field}: {winner}"
        confidence = votes[winner] / len(succeeded)
        return Payload(text, data, round(confidence, 4)).to_dict()
    text = "\n\n".join(f"[{name}] {result.payload.text}" for name, result in succeeded.items())
    return Payload(text, data).to_dict()


async def _synthesize(fan_in: _FanIn, reason: str) -> dict[str, Any]:
    ctx, synthesizer = fan_in.ctx, _synthesizer(fan_in.aggregate)
    context = [ContextItem(name, result.payload) for name, result in fan_in.succeeded.items()]
    context += [
        ContextItem(
            "router",
            Payload(f"branch {name} failed ({failure.code}): {failure.message}"),
            agent_pb2.ROLE_SYSTEM,
        )
        for name, failure in fan_in.failed.items()
    ]
    result = await fan_in.runner.run(ctx, SYNTHESIZE_KEY, synthesizer, fan_in.base, context)
    await record_decision(
        ctx,
        SYNTHESIZE_KEY,
        result.agent,
        run_pb2.ROUTING_KIND_AGGREGATE,
        list(fan_in.succeeded),
        result.agent,
        f"synthesizer:{result.agent}",
        reason,
    )
    output = {"agent": result.agent, **result.payload.to_dict()}
    if fan_in.failed:
        output["data"] = {**output["data"], **_failures(fan_in.failed)}
    return output


async def _resolve_conflict(fan_in: _FanIn, why: str) -> dict[str, Any]:
    ctx, aggregate, succeeded = fan_in.ctx, fan_in.aggregate, fan_in.succeeded
    answers = _answers(aggregate, succeeded)
    conflict = run_pb2.Conflict(step_name="aggregate", answers=answers)
    how = aggregate.on_conflict
    if how == "synthesizer":
        await _record_conflict(ctx, conflict, "synthesizer", "")
        return await _synthesize(fan_in, f"conflict: {why}")
    if how == "fail":
        await _record_conflict(ctx, conflict, "", "")
        raise RunFailure(f"conflict: {why}", Reason.CONFLICT)
    if how == "rule":
        values = {
            "answers": sorted(set(answers.values())),
            "branches": _branches(succeeded),
            "input": fan_in.run_input,
        }
        for index, rule in enumerate(aggregate.rules):
            if holds(rule.when, values, f"aggregate.rules[{index}].when", str(AGGREGATE_KEY)):
                await _record_conflict(ctx, conflict, f"rule:aggregate.rules[{index}]", rule.choose)
                return await _decided(
                    fan_in,
                    rule.choose,
                    f"rule:aggregate.rules[{index}]",
                    f"conflict ({why}); {rule.when.source!r} holds",
                )
        await _record_conflict(ctx, conflict, "", "")
        raise RunFailure(f"conflict ({why}) and no rule matched", Reason.CONFLICT)
    if how == "highest_confidence":
        best = _most_confident(succeeded)
        await _record_conflict(ctx, conflict, "highest_confidence", answers[best])
        reason = f"conflict ({why}); branch {best} is the most confident"
        return await _decided(fan_in, answers[best], "highest_confidence", reason)
    return await _ask_a_person(fan_in, conflict, why)


async def _ask_a_person(fan_in: _FanIn, conflict: run_pb2.Conflict, why: str) -> dict[str, Any]:
    ctx, aggregate, succeeded = fan_in.ctx, fan_in.aggregate, fan_in.succeeded
    answers = dict(conflict.answers)
    proposed = answers[_most_confident(succeeded)]
    asked = run_pb2.Conflict()
    asked.CopyFrom(conflict)
    asked.resolved_by = "human"
    approval = await fan_in.runner.gate.decision(
        ctx,
        str(AGGREGATE_KEY),
        approval_pb2.APPROVAL_KIND_CONFLICT,
        aggregate.approver_role,
        f"Branches disagree on {aggregate.field}. Approve to keep {proposed!r} (the most confident), "
        f'or edit with {{"choice": ...}} to pick another answer.',
        {"field": aggregate.field, "answers": answers, "proposed": proposed},
        evidence={"branches": _branches(succeeded)},
        with_request=[event(str(AGGREGATE_KEY), conflict=asked)],
    )
    if expired(approval):
        raise expiry(approval, str(AGGREGATE_KEY))
    if approval.outcome == run_pb2.APPROVAL_OUTCOME_REJECTED:
        raise RunFailure(
            f"the conflict was rejected by {approval.decided_by}: {approval.comment}",
            Reason.CONFLICT_REJECTED,
        )
    choice: object = proposed
    if approval.outcome == run_pb2.APPROVAL_OUTCOME_EDITED:
        choice = convert.to_dict(approval.edited_payload).get("choice")
    if not isinstance(choice, str) or choice not in answers.values():
        raise RunFailure(
            f"approval {approval.approval_id} must choose one of {sorted(set(answers.values()))}",
            Reason.CONFLICT_UNRESOLVED,
        )
    reason = f"conflict ({why}); chosen by {approval.decided_by}" + (
        f": {approval.comment}" if approval.comment else ""
    )
    return await _decided(fan_in, choice, f"human:{approval.decided_by}", reason)


def _branches(succeeded: dict[str, StepResult]) -> dict[str, dict[str, Any]]:
    """Each branch's output, as the aggregate's data, its conditions and its approval show it."""
    return {name: result.payload.to_dict() for name, result in succeeded.items()}


def _failures(failed: dict[str, RunFailure]) -> dict[str, Any]:
    """The branches that failed, each with its reason and message (none: nothing)."""
    if not failed:
        return {}
    return {
        "failed_branches": {
            name: {"reason": failure.code, "message": failure.message}
            for name, failure in failed.items()
        }
    }


def _synthesizer(aggregate: Aggregate) -> Step:
    synthesizer = aggregate.synthesizer
    assert synthesizer is not None, "the spec names a synthesizer wherever one is asked for"
    return synthesizer


def _most_confident(succeeded: dict[str, StepResult]) -> str:
    """The branch with the highest confidence (the first in workflow order on a tie)."""
    return max(succeeded, key=lambda name: succeeded[name].confidence or 0.0)


async def _record_conflict(
    ctx: RunContext, conflict: run_pb2.Conflict, resolved_by: str, resolution: str
) -> None:
    recorded = run_pb2.Conflict()
    recorded.CopyFrom(conflict)
    recorded.resolved_by, recorded.resolution = resolved_by, resolution
    ctx.log.record(event(str(AGGREGATE_KEY), conflict=recorded))
