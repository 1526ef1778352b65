"""Parsing and validation of workflow documents into a WorkflowSpec.

Every problem is reported with the path of the offending field (for example
`steps[2].agent`), all at once, so the author can fix them in one pass.
"""

from __future__ import annotations

import dataclasses

import yaml

from airspace.mesh import errors, json_values
from airspace.mesh.reasons import Reason
from airspace.router.spec.checker import Checker
from airspace.router.spec.model import (
    DEFAULT_MAX_INPUT_BYTES,
    Aggregate,
    Budget,
    Concurrent,
    ConflictRule,
    ContextPolicy,
    Document,
    Edge,
    Flow,
    GroupChat,
    Handoff,
    HandoffRoute,
    Limits,
    Pattern,
    Sequential,
    SpeakerRule,
    Step,
    WorkflowSpec,
)

PATTERNS = tuple(Pattern)
# What routing conditions may read, per place (see the patterns for their shapes).
STEP_WHEN = frozenset({"input", "steps"})
STEP_NEXT = frozenset({"output", "input", "steps"})
CONFLICT_RULE = frozenset({"answers", "branches", "input"})
CHAT_RULE = frozenset({"transcript", "last", "round", "input"})
HANDOFF_ROUTE = frozenset({"output", "input", "agent"})
END = "end"

_TOP = {"name", "description", "pattern", "timeout", "budget", "limits", "version"}
_BUDGET = {"max_steps", "max_hops", "max_tokens", "max_cost_micros"}
_LIMITS = {"max_input_bytes"}
_SECTIONS = {
    "sequential": {"steps"},
    "concurrent": {"branches", "aggregate"},
    "group_chat": {"participants", "manager", "termination"},
    "handoff": {"entry", "agents", "edges", "routes", "max_hops", "max_visits", "escalation"},
}
_REQUIRED = {
    "sequential": {"steps"},
    "concurrent": {"branches"},
    "group_chat": {"participants"},
    "handoff": {"entry", "agents"},
}


def parse_source(source: str) -> Document:
    """A workflow document from YAML or JSON text (JSON is YAML), holding only what JSON
    holds (no dates, no NaN or Infinity) and nested no deeper than a request may be."""
    try:
        document = yaml.safe_load(source)
    except RecursionError as exc:  # the parser recurses once per level of nesting
        raise errors.InvalidArgument(
            f"the workflow document is nested more than {json_values.MAX_DEPTH} levels deep",
            field="source",
            reason=Reason.TOO_DEEP,
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise errors.InvalidArgument(
            f"the workflow document is not valid YAML or JSON{where}: {getattr(exc, 'problem', exc)}",
            field="source",
            reason=Reason.MALFORMED_WORKFLOW,
        ) from exc
    if not isinstance(document, dict):
        raise errors.InvalidArgument(
            "the workflow document must be a mapping with name, pattern and its pattern's fields",
            field="source",
            reason=Reason.MALFORMED_WORKFLOW,
        )
    json_values.check_json(document, "source")
    return document


def validate(document: Document) -> WorkflowSpec:
    """The spec of a document, or InvalidArgument listing every problem with its path."""
    check = Checker()
    raw_pattern = document.get("pattern")
    pattern = (
        Pattern(raw_pattern) if isinstance(raw_pattern, str) and raw_pattern in PATTERNS else None
    )
    if "pattern" not in document:
        check.fail("pattern", "required field is missing")
    elif pattern is None:
        known = ", ".join(PATTERNS)
        check.fail("pattern", f"unknown pattern {str(raw_pattern)[:64]!r} (known: {known})")
    section = _SECTIONS.get(pattern, set()) if pattern else set()
    required = _REQUIRED.get(pattern, set()) if pattern else set()
    check.keys(document, "", _TOP | section, {"name", "pattern"} | required)
    description = document.get("description") or ""
    if not isinstance(description, str):
        check.fail("description", "must be text")
        description = ""
    budget = check.mapping(document.get("budget"), "budget")
    check.keys(budget, "budget", _BUDGET, set())
    name = check.name(document.get("name"), "name") if "name" in document else ""
    timeout = check.duration(document.get("timeout"), "timeout")
    budget_limits = Budget(
        **{key: check.count(budget.get(key), f"budget.{key}", 0, 0) for key in _BUDGET}
    )
    limits = check.mapping(document.get("limits"), "limits")
    check.keys(limits, "limits", _LIMITS, set())
    max_input_bytes = check.count(
        limits.get("max_input_bytes"), "limits.max_input_bytes", 1, DEFAULT_MAX_INPUT_BYTES
    )
    flow = _flow(check, pattern, document) if pattern else None
    if check.violations or flow is None:
        problems = "; ".join(f"{path}: {message}" for path, message in check.violations)
        raise errors.InvalidArgument(
            f"invalid workflow: {problems}",
            violations=check.violations,
            reason=Reason.INVALID_WORKFLOW,
        )
    return WorkflowSpec(
        name=name,
        description=description,
        timeout=timeout,
        budget=budget_limits,
        document={key: value for key, value in document.items() if key != "version"},
        flow=flow,
        agent_refs=tuple(check.agent_refs),
        limits=Limits(max_input_bytes=max_input_bytes),
    )


def _flow(check: Checker, pattern: Pattern, document: Document) -> Flow:
    if pattern == Pattern.SEQUENTIAL:
        return Sequential(_sequential(check, document.get("steps")))
    if pattern == Pattern.CONCURRENT:
        branches = _branches(check, document.get("branches"))
        return Concurrent(branches, _aggregate(check, document.get("aggregate"), branches))
    if pattern == Pattern.GROUP_CHAT:
        return _group_chat(check, document)
    return _handoff(check, document)


def _sequential(check: Checker, value: object) -> tuple[Step, ...]:
    steps = []
    for index, raw in enumerate(check.items(value, "steps")):
        path = f"steps[{index}]"
        step, raw = check.step(raw, path, {"input", "when", "next"})
        steps.append(
            dataclasses.replace(
                step,
                input=check.input_mapping(raw.get("input"), f"{path}.input"),
                when=check.condition(raw.get("when"), f"{path}.when", STEP_WHEN),
                next=check.routes(raw.get("next"), f"{path}.next", STEP_NEXT),
            )
        )
    names = [step.name for step in steps]
    _unique(check, names, "steps", "name")
    for index, step in enumerate(steps):
        if step.input.source not in ("previous", "run", *names[:index]):
            check.fail(f"steps[{index}].input.from", "must be 'previous', 'run' or an earlier step")
        for route_index, route in enumerate(step.next):
            if route.goto not in (*names, END):
                check.fail(
                    f"steps[{index}].next[{route_index}].goto",
                    f"no step named {route.goto!r} (or '{END}')",
                )
    return tuple(steps)


def _branches(check: Checker, value: object) -> tuple[Step, ...]:
    branches = []
    for index, raw in enumerate(check.items(value, "branches")):
        path = f"branches[{index}]"
        step, raw = check.step(raw, path, {"input"}, named=False)
        mapping = check.input_mapping(raw.get("input"), f"{path}.input")
        if mapping.source not in ("previous", "run"):
            check.fail(f"{path}.input.from", "a branch receives the run's input: use 'run'")
        branches.append(dataclasses.replace(step, input=mapping, branch=step.name))
    _unique(check, [b.name for b in branches], "branches", "name")
    return tuple(branches)


_STRATEGIES = ("collect", "vote", "quorum", "first_success", "synthesizer")
_ON_CONFLICT = ("rule", "highest_confidence", "synthesizer", "human", "fail")


def _aggregate(check: Checker, value: object, branches: tuple[Step, ...]) -> Aggregate:
    raw = check.mapping(value, "aggregate")
    allowed = {
        "strategy",
        "field",
        "quorum",
        "synthesizer",
        "on_conflict",
        "rules",
        "approver_role",
        "on_branch_failure",
        "min_success",
    }
    check.keys(raw, "aggregate", allowed, set())
    strategy = check.choice(raw.get("strategy"), "aggregate.strategy", _STRATEGIES, "collect")
    field = raw.get("field", "")
    if field and not isinstance(field, str):
        check.fail("aggregate.field", "must be a data field name")
        field = ""
    if strategy in ("vote", "quorum") and not field:
        check.fail("aggregate.field", f"the {strategy} strategy needs the field to vote on")
    quorum = check.count(raw.get("quorum"), "aggregate.quorum", 1, 0)
    if strategy == "quorum" and not quorum:
        check.fail("aggregate.quorum", "the quorum strategy needs quorum: N")
    elif quorum > len(branches):
        check.fail("aggregate.quorum", f"cannot exceed the {len(branches)} branches")
    synthesizer: Step | None = None
    if "synthesizer" in raw:
        synthesizer, _ = check.step(raw["synthesizer"], "aggregate.synthesizer", named=False)
    on_conflict = check.choice(
        raw.get("on_conflict"), "aggregate.on_conflict", _ON_CONFLICT, "fail"
    )
    if (strategy == "synthesizer" or on_conflict == "synthesizer") and synthesizer is None:
        check.fail("aggregate.synthesizer", "required by the synthesizer strategy or on_conflict")
    rules = []
    for index, rule in enumerate(
        check.items(raw.get("rules"), "aggregate.rules", required=on_conflict == "rule")
    ):
        where = f"aggregate.rules[{index}]"
        rule = check.mapping(rule, where)
        check.keys(rule, where, {"when", "choose"}, {"when", "choose"})
        condition = check.condition(rule.get("when"), f"{where}.when", CONFLICT_RULE)
        if condition is not None and isinstance(rule.get("choose"), str):
            rules.append(ConflictRule(condition, rule["choose"]))
    approver_role = raw.get("approver_role", "approver")
    if not isinstance(approver_role, str) or not approver_role:
        check.fail("aggregate.approver_role", "must be a role name")
    return Aggregate(
        strategy=strategy,
        field=field,
        quorum=quorum,
        synthesizer=synthesizer,
        on_conflict=on_conflict,
        rules=tuple(rules),
        approver_role=approver_role if isinstance(approver_role, str) else "approver",
        on_branch_failure=check.choice(
            raw.get("on_branch_failure"),
            "aggregate.on_branch_failure",
            ("fail", "continue"),
            "fail",
        ),
        min_success=check.count(raw.get("min_success"), "aggregate.min_success", 1, 1),
    )


def _group_chat(check: Checker, document: Document) -> GroupChat:
    participants = []
    for index, raw in enumerate(check.items(document.get("participants"), "participants")):
        step, _ = check.step(raw, f"participants[{index}]", named=False)
        participants.append(step)
    names = [p.agent for p in participants]
    _unique(check, names, "participants", "agent")
    manager = check.mapping(document.get("manager"), "manager")
    check.keys(manager, "manager", {"strategy", "rules", "selector"}, set())
    strategy = check.choice(
        manager.get("strategy"),
        "manager.strategy",
        ("round_robin", "rules", "selector"),
        "round_robin",
    )
    rules = []
    for index, rule in enumerate(
        check.items(manager.get("rules"), "manager.rules", required=strategy == "rules")
    ):
        where = f"manager.rules[{index}]"
        rule = check.mapping(rule, where)
        check.keys(rule, where, {"when", "speaker"}, {"when", "speaker"})
        if rule.get("speaker") not in names:
            check.fail(f"{where}.speaker", "must be one of the participants")
        condition = check.condition(rule.get("when"), f"{where}.when", CHAT_RULE)
        if condition is not None:
            rules.append(SpeakerRule(condition, rule.get("speaker", "")))
    selector: Step | None = None
    if strategy == "selector":
        if "selector" not in manager:
            check.fail("manager.selector", "the selector strategy needs a selector agent")
        else:
            selector, _ = check.step(manager["selector"], "manager.selector", named=False)
    termination = check.mapping(document.get("termination"), "termination")
    check.keys(termination, "termination", {"max_rounds", "until", "decider"}, set())
    decider = termination.get("decider", "")
    if decider and decider not in names:
        check.fail("termination.decider", "must be one of the participants")
    return GroupChat(
        participants=tuple(participants),
        manager=strategy,
        rules=tuple(rules),
        selector=selector,
        max_rounds=check.count(termination.get("max_rounds"), "termination.max_rounds", 1, 10),
        until=check.condition(termination.get("until"), "termination.until", CHAT_RULE),
        decider=decider if isinstance(decider, str) else "",
    )


_CONTEXT_MODES = ("full", "last_n", "fields")


def _handoff(check: Checker, document: Document) -> Handoff:
    agents = []
    for index, raw in enumerate(check.items(document.get("agents"), "agents")):
        step, _ = check.step(raw, f"agents[{index}]", named=False)
        agents.append(step)
    names = [a.agent for a in agents]
    _unique(check, names, "agents", "agent")
    entry = document.get("entry")
    if "entry" in document and entry not in names:
        check.fail("entry", "must be one of the agents")
    edges = []
    for index, raw in enumerate(check.items(document.get("edges"), "edges", required=False)):
        where = f"edges[{index}]"
        raw = check.mapping(raw, where)
        check.keys(raw, where, {"from", "to", "context"}, {"from", "to"})
        source = raw.get("from", "")
        if source not in names:
            check.fail(f"{where}.from", "must be one of the agents")
        targets = raw.get("to")
        targets = [targets] if isinstance(targets, str) else check.items(targets, f"{where}.to")
        context = _context_policy(check, raw.get("context"), f"{where}.context")
        for target_index, target in enumerate(targets):
            if target not in names:
                check.fail(
                    f"{where}.to[{target_index}]",
                    f"edge to nowhere: {target!r} is not one of the agents",
                )
            else:
                edges.append(Edge(source, target, context))
    routes = []
    for index, raw in enumerate(check.items(document.get("routes"), "routes", required=False)):
        where = f"routes[{index}]"
        raw = check.mapping(raw, where)
        check.keys(raw, where, {"from", "when", "to"}, {"from", "when", "to"})
        for key in ("from", "to"):
            if key in raw and raw[key] not in names:
                check.fail(f"{where}.{key}", "must be one of the agents")
        condition = check.condition(raw.get("when"), f"{where}.when", HANDOFF_ROUTE)
        if condition is not None:
            routes.append(HandoffRoute(raw.get("from", ""), raw.get("to", ""), condition))
    escalation = check.mapping(document.get("escalation"), "escalation")
    check.keys(escalation, "escalation", {"confidence_below", "target"}, set())
    target = escalation.get("target", "")
    if escalation and target not in names:
        check.fail("escalation.target", "must be one of the agents")
    return Handoff(
        entry=entry if isinstance(entry, str) else "",
        agents=tuple(agents),
        edges=tuple(edges),
        routes=tuple(routes),
        max_hops=check.count(document.get("max_hops"), "max_hops", 0, 5),
        max_visits=check.count(document.get("max_visits"), "max_visits", 1, 1),
        escalate_below=check.number(
            escalation.get("confidence_below"), "escalation.confidence_below", 0.0, 1.0
        ),
        escalation_target=target if isinstance(target, str) else "",
    )


def _context_policy(check: Checker, value: object, path: str) -> ContextPolicy:
    raw = check.mapping(value, path)
    check.keys(raw, path, {"mode", "last_n", "fields", "strip_tool_calls"}, set())
    mode = check.choice(raw.get("mode"), f"{path}.mode", _CONTEXT_MODES, "full")
    last_n = check.count(raw.get("last_n"), f"{path}.last_n", 1, 0)
    if mode == "last_n" and not last_n:
        check.fail(f"{path}.last_n", "the last_n mode needs last_n: N")
    fields = check.field_names(raw.get("fields"), f"{path}.fields")
    if mode == "fields" and not fields:
        check.fail(f"{path}.fields", "the fields mode needs the field names")
    strip = raw.get("strip_tool_calls", True)
    if not isinstance(strip, bool):
        check.fail(f"{path}.strip_tool_calls", "must be true or false")
        strip = True
    return ContextPolicy(mode=mode, last_n=last_n, fields=fields, strip_tool_calls=strip)


def _unique(check: Checker, names: list[str], path: str, field: str) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name and name in seen:
            check.fail(f"{path}[{index}].{field}", f"duplicate {field} {name!r}")
        seen.add(name)
