"""What every pattern shares: recording the decisions it takes."""

from __future__ import annotations

from airspace.router.run_context import RunContext
from airspace.router.run_log import event
from airspace.router.step_key import StepKey
from airspace.v1 import run_pb2


async def record_decision(
    ctx: RunContext,
    key: StepKey,
    agent: str,
    kind: run_pb2.RoutingKind,
    candidates: list[str],
    chosen: str,
    decided_by: str,
    reason: str,
    expression: str = "",
) -> None:
    """Records a routing decision, unless it followed a step replayed from the journal
    (it was recorded when the step first ran)."""
    if ctx.recorded(str(key)):
        return
    ctx.log.record(
        event(
            str(key),
            agent,
            routing_decision=run_pb2.RoutingDecision(
                kind=kind,
                candidates=list(dict.fromkeys(candidates)),
                chosen=chosen,
                decided_by=decided_by,
                reason=reason,
                expression=expression,
            ),
        )
    )
