"""Routing conditions (CEL) evaluated over a run's data. An error is a failed step, never a
silent default."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airspace.mesh.reasons import Reason
from airspace.policy.engine.conditions import Condition, EvaluationError
from airspace.router.run_context import RunFailure


def holds(condition: Condition, values: Mapping[str, Any], where: str, step_key: str = "") -> bool:
    """Whether `condition` holds for `values` (plain JSON); `where` names it in errors."""
    try:
        return condition.evaluate({name: values[name] for name in condition.variables})
    except EvaluationError as exc:
        raise RunFailure(
            f"the condition at {where} ({condition.source!r}) failed: {exc}",
            Reason.CONDITION_ERROR,
            step_key,
        ) from exc
