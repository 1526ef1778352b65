"""Collects every problem of a workflow document, each with the path of its field."""

from __future__ import annotations

import re
from collections.abc import Set
from typing import Any

from airspace.policy.engine.conditions import Condition, ConditionError, compile_condition
from airspace.router import validation
from airspace.router.durations import parse_duration
from airspace.router.spec.model import (
    ApprovalPoint,
    Document,
    InputMapping,
    RetryPolicy,
    Route,
    Step,
)

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
FIELD_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ON_FAILURE = ("fail", "continue")
STEP_FIELDS = {
    "name",
    "agent",
    "timeout",
    "retry",
    "parameters",
    "fallback_agent",
    "on_failure",
    "actions",
    "approval",
    "min_confidence",
    "output_schema",
    "output_rules",
    "max_output_bytes",
    "retry_invalid_output",
}
_APPROVAL_FIELDS = {
    "before",
    "after",
    "role",
    "deadline",
    "on_reject",
    "escalate_to",
    "on_expiry",
    "max_reviews",
}
_RETRY_FIELDS = {"max_attempts", "initial_backoff", "max_backoff", "multiplier"}


class Checker:
    def __init__(self) -> None:
        self.violations: list[tuple[str, str]] = []
        # (path, agent) of every agent the document names, for the registry check.
        self.agent_refs: list[tuple[str, str]] = []

    def fail(self, path: str, message: str) -> None:
        self.violations.append((path, message))

    def keys(self, value: Document, path: str, allowed: Set[str], required: Set[str]) -> None:
        prefix = f"{path}." if path else ""
        for key in sorted(set(value) - allowed, key=str):
            self.fail(f"{prefix}{key}", f"unknown field (allowed: {', '.join(sorted(allowed))})")
        for key in sorted(required - set(value)):
            self.fail(f"{prefix}{key}", "required field is missing")

    def mapping(self, value: object, path: str) -> Document:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(path, "must be a mapping")
            return {}
        return value

    def items(self, value: object, path: str, *, required: bool = True) -> list[Any]:
        if value is None and not required:
            return []
        if not isinstance(value, list) or (required and not value):
            self.fail(path, "must be a non-empty list")
            return []
        return value

    def name(self, value: object, path: str) -> str:
        if not isinstance(value, str) or not NAME_PATTERN.match(value):
            self.fail(path, "must be lowercase letters, digits and '-', starting with a letter")
            return ""
        return value

    def field_names(self, value: object, path: str) -> tuple[str, ...]:
        names = self.items(value, path, required=False)
        for index, name in enumerate(names):
            if not isinstance(name, str) or not FIELD_PATTERN.match(name):
                self.fail(f"{path}[{index}]", "must be a data field name")
        return tuple(n for n in names if isinstance(n, str))

    def choice(self, value: object, path: str, options: tuple[str, ...], default: str) -> str:
        if value is None:
            return default
        if not isinstance(value, str) or value not in options:
            self.fail(path, f"must be one of {', '.join(options)}")
            return default
        return value

    def duration(self, value: object, path: str) -> float | None:
        if value is None:
            return None
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(path, str(exc))
            return None

    def count(self, value: object, path: str, minimum: int, default: int) -> int:
        if value is None:
            return default
        # A stored spec comes back from protobuf Struct with every number a float.
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(path, f"must be a whole number >= {minimum}")
            return default
        return value

    def number(
        self, value: object, path: str, minimum: float, maximum: float | None = None
    ) -> float | None:
        if value is None:
            return None
        too_big = maximum is not None and isinstance(value, int | float) and value > maximum
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or value < minimum
            or too_big
        ):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            self.fail(path, f"must be a number {bounds}")
            return None
        return float(value)

    # Any: compile_condition itself rejects what is not an expression.
    def condition(self, value: Any, path: str, variables: frozenset[str]) -> Condition | None:
        if value is None:
            return None
        try:
            return compile_condition(value, variables)
        except ConditionError as exc:
            self.fail(path, f"invalid CEL expression: {exc}")
            return None

    def step(
        self, value: object, path: str, extra: Set[str] = frozenset(), *, named: bool = True
    ) -> tuple[Step, Document]:
        """The common fields of anything that invokes an agent; returns the raw mapping
        too so callers can read their own extra fields."""
        raw: Document = value if isinstance(value, dict) else {}
        if not raw:
            self.fail(path, "must be a mapping with an agent")
        required = {"name", "agent"} if named else {"agent"}
        self.keys(raw, path, STEP_FIELDS | extra, required)
        agent = self.name(raw.get("agent"), f"{path}.agent") if "agent" in raw else ""
        name = self.name(raw.get("name"), f"{path}.name") if "name" in raw else agent
        fallback = raw.get("fallback_agent")
        if fallback is not None:
            fallback = self.name(fallback, f"{path}.fallback_agent")
        for field, named_agent in (("agent", agent), ("fallback_agent", fallback)):
            if named_agent:
                self.agent_refs.append((f"{path}.{field}", named_agent))
        actions = raw.get("actions") or []
        if not isinstance(actions, list) or not all(isinstance(a, str) and a for a in actions):
            self.fail(f"{path}.actions", "must be a list of action names")
            actions = []
        step = Step(
            name=name,
            agent=agent,
            timeout=self.duration(raw.get("timeout"), f"{path}.timeout"),
            retry=self._retry(raw.get("retry"), f"{path}.retry"),
            parameters=self.mapping(raw.get("parameters"), f"{path}.parameters"),
            fallback_agent=fallback or None,
            on_failure=self.choice(raw.get("on_failure"), f"{path}.on_failure", ON_FAILURE, "fail"),
            actions=tuple(actions),
            approval=self._approval(raw.get("approval"), f"{path}.approval"),
            min_confidence=self.number(
                raw.get("min_confidence"), f"{path}.min_confidence", 0.0, 1.0
            ),
            output=self._output_contract(raw, path),
        )
        return step, raw

    def _output_contract(self, raw: Document, path: str) -> validation.OutputContract:
        schema, validator = raw.get("output_schema"), None
        if schema is not None:
            try:
                validator = validation.compile_schema(schema)
            except validation.SchemaProblem as exc:
                self.fail(f"{path}.output_schema", str(exc))
                schema = None
        rules: list[validation.OutputRule] = []
        for index, rule in enumerate(
            self.items(raw.get("output_rules"), f"{path}.output_rules", required=False)
        ):
            where = f"{path}.output_rules[{index}]"
            rule = self.mapping(rule, where)
            self.keys(rule, where, {"when", "message"}, {"when", "message"})
            message = rule.get("message")
            if "message" in rule and (not isinstance(message, str) or not message):
                self.fail(f"{where}.message", "must be text saying what is wrong")
            when = self.condition(rule.get("when"), f"{where}.when", validation.RULE_VARIABLES)
            if when is not None and isinstance(message, str):
                rules.append(validation.OutputRule(when, message))
        retry_invalid = raw.get("retry_invalid_output", False)
        if not isinstance(retry_invalid, bool):
            self.fail(f"{path}.retry_invalid_output", "must be true or false")
            retry_invalid = False
        return validation.OutputContract(
            retry_invalid=retry_invalid,
            schema=schema,
            validator=validator,
            rules=tuple(rules),
            max_bytes=self.count(
                raw.get("max_output_bytes"),
                f"{path}.max_output_bytes",
                1,
                validation.DEFAULT_MAX_OUTPUT_BYTES,
            ),
        )

    def _approval(self, value: object, path: str) -> ApprovalPoint | None:
        if value is None:
            return None
        raw = self.mapping(value, path)
        self.keys(raw, path, _APPROVAL_FIELDS, set())
        default = ApprovalPoint()
        flags: dict[str, object] = {}
        for flag in ("before", "after"):
            flags[flag] = raw.get(flag, False)
            if not isinstance(flags[flag], bool):
                self.fail(f"{path}.{flag}", "must be true or false")
        if not (flags["before"] is True or flags["after"] is True):
            self.fail(path, "say when: before: true, after: true, or both")
        roles: dict[str, str] = {}
        for field in ("role", "escalate_to"):
            role = raw.get(field, getattr(default, field))
            if not isinstance(role, str):
                self.fail(f"{path}.{field}", "must be a role name")
                role = getattr(default, field)
            roles[field] = role
        on_reject = self.choice(
            raw.get("on_reject"), f"{path}.on_reject", ("stop", "retry", "escalate"), "stop"
        )
        on_expiry = self.choice(
            raw.get("on_expiry"), f"{path}.on_expiry", ("fail", "escalate"), "fail"
        )
        if "escalate" in (on_reject, on_expiry) and not roles["escalate_to"]:
            self.fail(f"{path}.escalate_to", "escalation needs the role to escalate to")
        return ApprovalPoint(
            before=flags["before"] is True,
            after=flags["after"] is True,
            role=roles["role"] or default.role,
            deadline=self.duration(raw.get("deadline"), f"{path}.deadline") or default.deadline,
            on_reject=on_reject,
            escalate_to=roles["escalate_to"],
            on_expiry=on_expiry,
            max_reviews=self.count(
                raw.get("max_reviews"), f"{path}.max_reviews", 0, default.max_reviews
            ),
        )

    def input_mapping(self, value: object, path: str) -> InputMapping:
        raw = self.mapping(value, path)
        self.keys(raw, path, {"from", "fields"}, set())
        source = raw.get("from", "previous")
        if not isinstance(source, str) or not source:
            self.fail(f"{path}.from", "must be 'previous', 'run' or a step name")
            source = "previous"
        return InputMapping(
            source=source, fields=self.field_names(raw.get("fields"), f"{path}.fields")
        )

    def routes(self, value: object, path: str, variables: frozenset[str]) -> tuple[Route, ...]:
        routes: list[Route] = []
        for index, raw in enumerate(self.items(value, path, required=False)):
            where = f"{path}[{index}]"
            raw = self.mapping(raw, where)
            self.keys(raw, where, {"when", "goto"}, {"goto"})
            goto = raw.get("goto")
            if not isinstance(goto, str) or not goto:
                goto = ""
            routes.append(
                Route(goto=goto, when=self.condition(raw.get("when"), f"{where}.when", variables))
            )
        return tuple(routes)

    def _retry(self, value: object, path: str) -> RetryPolicy:
        raw = self.mapping(value, path)
        self.keys(raw, path, _RETRY_FIELDS, set())
        default = RetryPolicy()
        multiplier = self.number(raw.get("multiplier"), f"{path}.multiplier", 1.0)
        return RetryPolicy(
            max_attempts=self.count(
                raw.get("max_attempts"), f"{path}.max_attempts", 1, default.max_attempts
            ),
            initial_backoff=self.duration(raw.get("initial_backoff"), f"{path}.initial_backoff")
            or default.initial_backoff,
            max_backoff=self.duration(raw.get("max_backoff"), f"{path}.max_backoff")
            or default.max_backoff,
            multiplier=multiplier or default.multiplier,
        )
