"""Workflow documents: parsing and validation into an immutable spec.

Every problem is reported with the path of the offending field (for example
`steps[2].agent`) so the caller can fix all of them at once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re

import yaml

from services.mesh import errors
from services.router.durations import parse_duration

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
KNOWN_PATTERNS = ("sequential", "concurrent", "group_chat", "handoff")
# Patterns this router executes; the others are refused when applied, not accepted and left idle.
EXECUTABLE_PATTERNS = ("sequential",)
ON_FAILURE = ("fail", "continue")


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    initial_backoff: float = 0.2
    max_backoff: float = 5.0
    multiplier: float = 2.0


@dataclasses.dataclass(frozen=True)
class Step:
    name: str
    agent: str
    timeout: float | None = None
    retry: RetryPolicy = RetryPolicy()
    parameters: dict = dataclasses.field(default_factory=dict)
    fallback_agent: str | None = None
    on_failure: str = "fail"
    # Actions (tool names) the agent may request in this step; policy still decides each.
    actions: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Budget:
    max_steps: int = 0
    max_tokens: int = 0
    max_cost_micros: int = 0


@dataclasses.dataclass(frozen=True)
class WorkflowSpec:
    name: str
    description: str
    pattern: str
    steps: tuple[Step, ...]
    timeout: float | None
    budget: Budget
    document: dict

    @property
    def agents(self) -> list[str]:
        names = []
        for step in self.steps:
            for agent in (step.agent, step.fallback_agent):
                if agent and agent not in names:
                    names.append(agent)
        return names

    @property
    def etag(self) -> str:
        canonical = json.dumps(self.document, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def parse_source(source: str) -> dict:
    """A workflow document from YAML or JSON text (JSON is YAML)."""
    try:
        document = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise errors.InvalidArgument(
            f"the workflow document is not valid YAML or JSON{where}: {getattr(exc, 'problem', exc)}",
            field="source",
            reason="MALFORMED_WORKFLOW",
        ) from exc
    if not isinstance(document, dict):
        raise errors.InvalidArgument(
            "the workflow document must be a mapping with name, pattern and steps",
            field="source",
            reason="MALFORMED_WORKFLOW",
        )
    return document


class _Checker:
    def __init__(self):
        self.violations: list[tuple[str, str]] = []

    def fail(self, path: str, message: str) -> None:
        self.violations.append((path, message))

    def keys(self, value: dict, path: str, allowed: set[str], required: set[str]) -> None:
        prefix = f"{path}." if path else ""
        for key in sorted(set(value) - allowed):
            self.fail(f"{prefix}{key}", f"unknown field (allowed: {', '.join(sorted(allowed))})")
        for key in sorted(required - set(value)):
            self.fail(f"{prefix}{key}", "required field is missing")

    def mapping(self, value, path: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(path, "must be a mapping")
            return {}
        return value

    def name(self, value, path: str) -> str:
        if not isinstance(value, str) or not NAME_PATTERN.match(value):
            self.fail(path, "must be lowercase letters, digits and '-', starting with a letter")
            return ""
        return value

    def duration(self, value, path: str) -> float | None:
        if value is None:
            return None
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(path, str(exc))
            return None

    def count(self, value, path: str, minimum: int, default: int) -> int:
        if value is None:
            return default
        # A stored spec comes back from protobuf Struct with every number a float.
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(path, f"must be a whole number >= {minimum}")
            return default
        return value

    def number(self, value, path: str, minimum: float, default: float) -> float:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            self.fail(path, f"must be a number >= {minimum}")
            return default
        return float(value)


_TOP_FIELDS = {"name", "description", "pattern", "steps", "timeout", "budget", "version"}
_STEP_FIELDS = {
    "name",
    "agent",
    "timeout",
    "retry",
    "parameters",
    "fallback_agent",
    "on_failure",
    "actions",
}
_RETRY_FIELDS = {"max_attempts", "initial_backoff", "max_backoff", "multiplier"}
_BUDGET_FIELDS = {"max_steps", "max_tokens", "max_cost_micros"}


def validate(document: dict) -> WorkflowSpec:
    """The spec of a document, or InvalidArgument listing every problem with its path."""
    check = _Checker()
    check.keys(document, "", _TOP_FIELDS, {"name", "pattern", "steps"})
    name = check.name(document.get("name"), "name") if "name" in document else ""
    description = document.get("description") or ""
    if not isinstance(description, str):
        check.fail("description", "must be text")
        description = ""
    pattern = document.get("pattern")
    if "pattern" in document:
        if pattern not in KNOWN_PATTERNS:
            check.fail(
                "pattern", f"unknown pattern {pattern!r} (known: {', '.join(KNOWN_PATTERNS)})"
            )
        elif pattern not in EXECUTABLE_PATTERNS:
            check.fail("pattern", f"pattern {pattern!r} is not supported by this router yet")
    steps = _steps(check, document.get("steps")) if "steps" in document else ()
    timeout = check.duration(document.get("timeout"), "timeout")
    budget_doc = check.mapping(document.get("budget"), "budget")
    check.keys(budget_doc, "budget", _BUDGET_FIELDS, set())
    budget = Budget(
        max_steps=check.count(budget_doc.get("max_steps"), "budget.max_steps", 0, 0),
        max_tokens=check.count(budget_doc.get("max_tokens"), "budget.max_tokens", 0, 0),
        max_cost_micros=check.count(
            budget_doc.get("max_cost_micros"), "budget.max_cost_micros", 0, 0
        ),
    )
    if check.violations:
        problems = "; ".join(f"{path}: {message}" for path, message in check.violations)
        raise errors.InvalidArgument(
            f"invalid workflow: {problems}", violations=check.violations, reason="INVALID_WORKFLOW"
        )
    canonical = {key: value for key, value in document.items() if key != "version"}
    return WorkflowSpec(name, description, pattern, steps, timeout, budget, canonical)


def _steps(check: _Checker, value) -> tuple[Step, ...]:
    if not isinstance(value, list) or not value:
        check.fail("steps", "must be a non-empty list of steps")
        return ()
    steps, seen = [], set()
    for index, raw in enumerate(value):
        path = f"steps[{index}]"
        if not isinstance(raw, dict):
            check.fail(path, "must be a mapping with name and agent")
            continue
        check.keys(raw, path, _STEP_FIELDS, {"name", "agent"})
        name = check.name(raw.get("name"), f"{path}.name") if "name" in raw else ""
        if name and name in seen:
            check.fail(f"{path}.name", f"duplicate step name {name!r}")
        seen.add(name)
        agent = check.name(raw.get("agent"), f"{path}.agent") if "agent" in raw else ""
        fallback = raw.get("fallback_agent")
        if fallback is not None:
            fallback = check.name(fallback, f"{path}.fallback_agent")
        on_failure = raw.get("on_failure", "fail")
        if on_failure not in ON_FAILURE:
            check.fail(f"{path}.on_failure", f"must be one of {', '.join(ON_FAILURE)}")
        parameters = check.mapping(raw.get("parameters"), f"{path}.parameters")
        actions = raw.get("actions") or []
        if not isinstance(actions, list) or not all(isinstance(a, str) and a for a in actions):
            check.fail(f"{path}.actions", "must be a list of action names")
            actions = []
        steps.append(
            Step(
                name=name,
                agent=agent,
                timeout=check.duration(raw.get("timeout"), f"{path}.timeout"),
                retry=_retry(check, raw.get("retry"), f"{path}.retry"),
                parameters=parameters,
                fallback_agent=fallback or None,
                on_failure=on_failure,
                actions=tuple(actions),
            )
        )
    return tuple(steps)


def _retry(check: _Checker, value, path: str) -> RetryPolicy:
    raw = check.mapping(value, path)
    check.keys(raw, path, _RETRY_FIELDS, set())
    default = RetryPolicy()
    initial = check.duration(raw.get("initial_backoff"), f"{path}.initial_backoff")
    maximum = check.duration(raw.get("max_backoff"), f"{path}.max_backoff")
    return RetryPolicy(
        max_attempts=check.count(
            raw.get("max_attempts"), f"{path}.max_attempts", 1, default.max_attempts
        ),
        initial_backoff=initial or default.initial_backoff,
        max_backoff=maximum or default.max_backoff,
        multiplier=check.number(
            raw.get("multiplier"), f"{path}.multiplier", 1.0, default.multiplier
        ),
    )
