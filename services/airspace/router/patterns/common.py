"""What every pattern shares: step inputs, and recording the decisions it takes."""

from __future__ import annotations

from typing import Any

from airspace.router.run_context import RunContext
from airspace.router.run_log import event
from airspace.router.step_key import StepKey
from airspace.v1 import run_pb2


def without_text(value: dict[str, Any]) -> dict[str, Any]:
    return {key: item for key, item in value.items() if key != "text"}


def run_input_payload(run_input: dict[str, Any]) -> dict[str, Any]:
    """A run's input as a step input: its text, and the rest as data."""
    return {"text": run_input.get("text", ""), "data": without_text(run_input)}


def select_fields(payload: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The payload with only the named data fields (all of them when none are named)."""
    data = payload.get("data", {})
    if fields:
        data = {field: data[field] for field in fields if field in data}
    return {"text": payload.get("text", ""), "data": data}


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
    if str(key) in ctx.journal:
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
