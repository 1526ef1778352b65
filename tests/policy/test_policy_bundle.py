"""Bundle loading: the default bundle, and validation errors that name file and path."""

from __future__ import annotations

import pytest
from policy_helpers import DEFAULT_BUNDLE, MINIMAL_BUNDLE, write_bundle

from airspace.policy.engine import BundleError, load_bundle
from airspace.policy.engine.checkpoints import CHECKPOINTS, PERMISSION_BY_CHECKPOINT

pytestmark = pytest.mark.unit


def test_default_bundle_has_real_roles_for_every_checkpoint():
    bundle = load_bundle(DEFAULT_BUNDLE)
    assert {"admin", "operator", "viewer", "approver", "auditor", "mesh"} <= set(bundle.roles)
    assert all(bundle.grants(["admin"], p) for p in PERMISSION_BY_CHECKPOINT.values())
    operator = ["runs.start", "runs.read", "runs.cancel", "workflows.write", "agents.register"]
    assert all(bundle.grants(["operator"], p) for p in operator)
    assert not bundle.grants(["operator"], "approvals.decide")
    assert bundle.grants(["viewer"], "runs.read") and not bundle.grants(["viewer"], "runs.start")
    assert bundle.grants(["approver"], "approvals.decide")
    assert bundle.grants(["auditor"], "audit.read") and not bundle.grants(
        ["operator"], "audit.read"
    )
    assert bundle.grants(["mesh"], "steps.execute")
    assert {r.id for r in bundle.rules} and bundle.version and len(bundle.digest) == 64
    assert all(bundle.rules_for(c) is not None for c in CHECKPOINTS)


def test_broken_cel_fails_at_load_naming_file_and_path(tmp_path):
    path = write_bundle(
        tmp_path,
        MINIMAL_BUNDLE.replace(
            "rules: []",
            """rules:
  - {id: fine, checkpoint: run.start, when: "true", effect: allow, reason: OK}
  - {id: broken, checkpoint: run.start, when: "subject.kind ==", effect: deny, reason: NO}
""",
        ),
        name="broken.yaml",
    )
    with pytest.raises(BundleError) as failure:
        load_bundle(path)
    assert str(failure.value).startswith("broken.yaml: rules[1].when: syntax error")
    assert (failure.value.source, failure.value.path) == ("broken.yaml", "rules[1].when")


@pytest.mark.parametrize(
    ("rules", "path", "problem"),
    [
        (
            '- {id: a, checkpoint: run.start, when: "subjet.kind == 1", effect: deny, reason: X}',
            "rules[0].when",
            "unknown variable 'subjet'",
        ),
        (
            '- {id: a, checkpoint: run.begin, when: "true", effect: deny, reason: X}',
            "rules[0].checkpoint",
            "unknown checkpoint 'run.begin'",
        ),
        (
            '- {id: a, checkpoints: [run.start, nope], when: "true", effect: deny, reason: X}',
            "rules[0].checkpoints[1]",
            "unknown checkpoint 'nope'",
        ),
        (
            '- {id: a, checkpoint: run.start, when: "true", effect: maybe, reason: X}',
            "rules[0].effect",
            "must be one of",
        ),
        (
            '- {id: a, checkpoint: run.start, when: "true", effect: require_approval, reason: X}',
            "rules[0].approver_role",
            "must be a non-empty string",
        ),
        (
            "- {id: a, checkpoint: run.start, when: 'true', effect: require_approval, "
            "reason: X, approver_role: boss}",
            "rules[0].approver_role",
            "'boss' is not a role",
        ),
        (
            '- {id: a, checkpoint: run.start, when: "true", effect: deny, reason: lower}',
            "rules[0].reason",
            "does not match",
        ),
        (
            '- {id: a, checkpoint: run.start, when: "true", effect: deny, reason: X, efect: 1}',
            "rules[0].efect",
            "unknown field",
        ),
        (
            '- {id: a, checkpoint: run.start, when: "true", effect: deny, reason: X}\n'
            '  - {id: a, checkpoint: run.read, when: "true", effect: deny, reason: X}',
            "rules[1].id",
            "duplicate rule id 'a'",
        ),
    ],
)
def test_rule_errors_name_the_path(tmp_path, rules, path, problem):
    text = MINIMAL_BUNDLE.replace("rules: []", "rules:\n  " + rules)
    with pytest.raises(BundleError) as failure:
        load_bundle(write_bundle(tmp_path, text))
    assert failure.value.source == "default.yaml"
    assert failure.value.path == path
    assert problem in failure.value.problem


@pytest.mark.parametrize(
    ("old", "new", "path", "problem"),
    [
        ("runs.*", "runs.strat", "roles.operator[0]", "unknown permission 'runs.strat'"),
        ('version: "1"', "version: 1.0", "version", "must be a non-empty string"),
        ("rules: []", "rules: []\npii: {entities: {EMAIL: {operator: SHRED}}}",
         "pii.entities.EMAIL.operator", "must be one of"),
        ("rules: []", "rules: []\npii: {entities: {PRIVATE_KEY: {operator: PARTIAL}}}",
         "pii.entities.PRIVATE_KEY.operator", "PARTIAL would leak"),
        ("rules: []", "rules: []\npii: {entities: {EMAIL: {clearance: DATA_CLASS_X}}}",
         "pii.entities.EMAIL.clearance", "must be one of"),
        ("rules: []", "rules: []\npii: {entities: {SHOE_SIZE: {}}}",
         "pii.entities.SHOE_SIZE", "unknown entity"),
        ("rules: []", "rules: []\npii: {clearances: {boss: [DATA_CLASS_PII]}}",
         "pii.clearances.boss", "not a role of this bundle"),
        ("rules: []", "rules: []\npii: {clearances: {approver: [DATA_CLASS_X]}}",
         "pii.clearances.approver[0]", "must be one of"),
        ("name: test\n", "", "name", "is required"),
    ],
)  # fmt: skip
def test_bundle_errors_name_the_path(tmp_path, old, new, path, problem):
    with pytest.raises(BundleError) as failure:
        load_bundle(write_bundle(tmp_path, MINIMAL_BUNDLE.replace(old, new)))
    assert (failure.value.path, failure.value.source) == (path, "default.yaml")
    assert problem in failure.value.problem


def test_yaml_syntax_errors_and_duplicate_keys_give_the_line(tmp_path):
    with pytest.raises(BundleError, match=r"^bad\.yaml: line 3, column \d+: "):
        load_bundle(write_bundle(tmp_path, "name: x\nversion: '1'\nroles: a: b\n", name="bad.yaml"))
    duplicated = MINIMAL_BUNDLE + "name: again\n"
    with pytest.raises(BundleError, match=r"duplicate key 'name'"):
        load_bundle(write_bundle(tmp_path, duplicated))


def test_missing_file_is_a_bundle_error(tmp_path):
    with pytest.raises(BundleError, match=r"^gone\.yaml: cannot read"):
        load_bundle(tmp_path / "gone.yaml")
