"""The targets the speed work is judged by (DESIGN.md "Numbers that matter"), each on a
figure of the benchmark's results named by its path in the JSON, e.g. "ratios.mesh_cpu_over_floor"."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping


@dataclasses.dataclass(frozen=True)
class Target:
    figure: str
    at_most: float | None = None
    at_least: float | None = None

    def met_by(self, value: float) -> bool:
        if self.at_most is not None and value > self.at_most:
            return False
        return self.at_least is None or value >= self.at_least

    @property
    def text(self) -> str:
        return f"<= {self.at_most:g}" if self.at_most is not None else f">= {self.at_least:g}"

    @property
    def section(self) -> str:
        """The part of the benchmark that measures the figure: its path's first part."""
        return self.figure.partition(".")[0]

    def as_json(self) -> dict:
        bounds = {"at_most": self.at_most, "at_least": self.at_least}
        return {key: bound for key, bound in bounds.items() if bound is not None}


TARGETS = (
    # With guardrails, audit and tracing on, at most twice the bare gRPC work.
    Target("ratios.mesh_cpu_over_floor", at_most=2.0),
    Target("counts.internal_calls_per_run", at_most=8),
    Target("counts.fsyncs_per_run", at_most=3),
    # Ahead of an in-process framework with durable checkpoints.
    Target("ratios.airspace_over_langgraph", at_least=1.5),
    # A fan-out costs its slowest branch, not the sum.
    Target("ratios.fanout_over_slowest_branch", at_most=1.1),
    Target("ratios.tracing_off_over_on", at_most=1.15),
    # Parked runs cost memory only: a few KB each, next to no CPU while they wait, and
    # every one completes once its agent answers.
    Target("parked.kb_per_parked_run", at_most=10),
    Target("parked.idle_cpu_percent", at_most=5),
    Target("parked.runs_not_completed", at_most=0),
)
BY_FIGURE = {target.figure: target for target in TARGETS}


@dataclasses.dataclass(frozen=True)
class Verdict:
    target: Target
    value: float | None  # None: the figure was not measured (which does not meet it)

    @property
    def met(self) -> bool:
        return self.value is not None and self.target.met_by(self.value)

    def as_json(self) -> dict:
        return {**self.target.as_json(), "value": self.value, "met": self.met}


def figure(results: Mapping, path: str) -> float | None:
    """The number at a dotted path of the results, None where there is none."""
    found: object = results
    for part in path.split("."):
        if not isinstance(found, Mapping) or part not in found:
            return None
        found = found[part]
    return found if isinstance(found, int | float) else None


def judge(results: Mapping, skipped: Collection[str] = ()) -> list[Verdict]:
    """A verdict on every target but those of the `skipped` sections (not run at all)."""
    return [
        Verdict(target, figure(results, target.figure))
        for target in TARGETS
        if target.section not in skipped
    ]
