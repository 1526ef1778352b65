"""The JSON Schema of workflow documents (workflows/schema/workflow.schema.json) against the
router's validator: the same fields in every place, the same choices, every sample workflow
valid, and the broken documents the validator refuses refused by the schema too."""

from __future__ import annotations

import copy
import json
import pathlib
import re

import jsonschema
import pytest
import yaml

from airspace.mesh import errors
from airspace.router.spec import parse_source, validate

pytestmark = pytest.mark.unit

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "workflows" / "schema" / "workflow.schema.json").read_text())
CHECKER = jsonschema.Draft7Validator(SCHEMA)
PROBE = "zz_probe"

# A valid document of each pattern with every optional object present, so each can be probed.
BASES = {
    "sequential": {
        "name": "s",
        "pattern": "sequential",
        "budget": {},
        "steps": [
            {
                "name": "a",
                "agent": "x",
                "retry": {},
                "approval": {"after": True},
                "input": {},
                "next": [{"goto": "end"}],
                "output_rules": [{"when": "true", "message": "m"}],
            }
        ],
    },
    "concurrent": {
        "name": "c",
        "pattern": "concurrent",
        "branches": [{"agent": "x"}],
        "aggregate": {
            "on_conflict": "rule",
            "synthesizer": {"agent": "y"},
            "rules": [{"when": "true", "choose": "a"}],
        },
    },
    "group_chat": {
        "name": "g",
        "pattern": "group_chat",
        "participants": [{"agent": "x"}],
        "manager": {
            "strategy": "selector",
            "selector": {"agent": "s"},
            "rules": [{"when": "true", "speaker": "x"}],
        },
        "termination": {},
    },
    "handoff": {
        "name": "h",
        "pattern": "handoff",
        "entry": "x",
        "agents": [{"agent": "x"}, {"agent": "y"}],
        "edges": [{"from": "x", "to": ["y"], "context": {}}],
        "routes": [{"from": "x", "when": "true", "to": "y"}],
        "escalation": {"target": "y"},
    },
}
# Every object of a document, as (pattern, path of keys and indexes).
OBJECTS = [
    ("sequential", ()),
    ("concurrent", ()),
    ("group_chat", ()),
    ("handoff", ()),
    ("sequential", ("budget",)),
    ("sequential", ("steps", 0)),
    ("sequential", ("steps", 0, "retry")),
    ("sequential", ("steps", 0, "approval")),
    ("sequential", ("steps", 0, "input")),
    ("sequential", ("steps", 0, "next", 0)),
    ("sequential", ("steps", 0, "output_rules", 0)),
    ("concurrent", ("branches", 0)),
    ("concurrent", ("aggregate",)),
    ("concurrent", ("aggregate", "synthesizer")),
    ("concurrent", ("aggregate", "rules", 0)),
    ("group_chat", ("participants", 0)),
    ("group_chat", ("manager",)),
    ("group_chat", ("manager", "selector")),
    ("group_chat", ("manager", "rules", 0)),
    ("group_chat", ("termination",)),
    ("handoff", ("agents", 0)),
    ("handoff", ("edges", 0)),
    ("handoff", ("edges", 0, "context")),
    ("handoff", ("routes", 0)),
    ("handoff", ("escalation",)),
]
# Every field with a fixed set of values, as (pattern, path).
CHOICES = [
    ("sequential", ("pattern",)),
    ("sequential", ("steps", 0, "on_failure")),
    ("sequential", ("steps", 0, "approval", "on_reject")),
    ("sequential", ("steps", 0, "approval", "on_expiry")),
    ("concurrent", ("aggregate", "strategy")),
    ("concurrent", ("aggregate", "on_conflict")),
    ("concurrent", ("aggregate", "on_branch_failure")),
    ("group_chat", ("manager", "strategy")),
    ("handoff", ("edges", 0, "context", "mode")),
]


def refusals(document: dict) -> dict[str, str]:
    """The validator's violations of a document, by path (none when it is valid)."""
    try:
        validate(document)
    except errors.InvalidArgument as refused:
        return dict(refused.violations)
    return {}


def case_id(value) -> str:
    return value if isinstance(value, str) else dotted(value) or "top"


def dotted(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


def schema_at(path: tuple) -> dict:
    """The (resolved) schema that applies at a document path."""
    node = SCHEMA
    for part in path:
        node = _resolved(node)
        node = node["items"] if isinstance(part, int) else node["properties"][part]
    return _resolved(node)


def _resolved(node: dict) -> dict:
    while "$ref" in node:
        node = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def with_value(pattern: str, path: tuple, value) -> dict:
    document = copy.deepcopy(BASES[pattern])
    target = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return document


@pytest.mark.parametrize("pattern", BASES)
def test_the_probe_documents_are_valid_to_both(pattern):
    assert refusals(BASES[pattern]) == {}
    assert list(CHECKER.iter_errors(BASES[pattern])) == []


@pytest.mark.parametrize(
    "path", sorted((ROOT / "workflows").glob("*.yaml")), ids=lambda path: path.name
)
def test_every_sample_workflow_is_valid_to_both(path):
    source = path.read_text()
    validate(parse_source(source))
    assert [error.message for error in CHECKER.iter_errors(yaml.safe_load(source))] == []


@pytest.mark.parametrize(("pattern", "path"), OBJECTS, ids=case_id)
def test_each_object_allows_the_fields_the_validator_allows(pattern, path):
    document = copy.deepcopy(BASES[pattern])
    target = document
    for part in path:
        target = target[part]
    target[PROBE] = 1
    refused = refusals(document)[dotted((*path, PROBE))]
    allowed = set(re.fullmatch(r"unknown field \(allowed: (.*)\)", refused).group(1).split(", "))
    node = schema_at(path)
    if not path:  # the top level allows its pattern's sections only
        allowed_here = next(
            rule["then"]["propertyNames"]["enum"]
            for rule in node["allOf"]
            if rule["if"]["properties"]["pattern"]["const"] == pattern
        )
        assert set(allowed_here) == allowed
    else:
        assert set(node["properties"]) == allowed
        assert node["additionalProperties"] is False
    assert not CHECKER.is_valid(document)


@pytest.mark.parametrize(("pattern", "path"), CHOICES, ids=case_id)
def test_each_choice_offers_the_values_the_validator_accepts(pattern, path):
    document = with_value(pattern, path, PROBE)
    refused = refusals(document)[dotted(path)]
    listed = re.search(r"(?:must be one of|known:) ([^)]*)\)?$", refused).group(1)
    assert set(schema_at(path)["enum"]) == set(listed.split(", "))
    assert not CHECKER.is_valid(document)


BROKEN = {
    "a step without its agent": ("sequential", ("steps", 0), {"name": "a"}),
    "a duration in weeks": ("sequential", ("steps", 0, "retry", "initial_backoff"), "2w"),
    "a name with capitals": ("sequential", ("name",), "My-seq"),
    "a negative budget": ("sequential", ("budget", "max_steps"), -1),
    "a confidence above 1": ("sequential", ("steps", 0, "min_confidence"), 1.5),
    "another pattern's section": ("sequential", ("branches",), [{"agent": "x"}]),
    "a handoff without agents": ("handoff", ("agents",), []),
    "an edge without a target": ("handoff", ("edges", 0), {"from": "x"}),
}


@pytest.mark.parametrize("case", BROKEN)
def test_broken_documents_are_refused_by_both(case):
    pattern, path, value = BROKEN[case]
    document = with_value(pattern, path, value)
    assert refusals(document), f"the validator accepts {case}"
    assert not CHECKER.is_valid(document), f"the schema accepts {case}"
