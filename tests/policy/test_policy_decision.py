"""Decisions: tenant isolation, RBAC, CEL rules, precedence, failing closed, dry-run."""

from __future__ import annotations

import pytest
from policy_helpers import MINIMAL_BUNDLE, check, codes, engine_for, user, write_bundle

from airspace.policy.engine import Verdict
from airspace.policy.engine.model import Subject

pytestmark = pytest.mark.unit

ALLOW, DENY, APPROVAL = Verdict.ALLOW, Verdict.DENY, Verdict.REQUIRE_APPROVAL


@pytest.fixture(scope="module")
def engine():
    return engine_for()


@pytest.mark.parametrize(
    ("role", "checkpoint", "verdict"),
    [
        ("operator", "run.start", ALLOW),
        ("operator", "run.cancel", ALLOW),
        ("operator", "workflow.write", ALLOW),
        ("operator", "agent.register", ALLOW),
        ("operator", "approval.decide", DENY),
        ("operator", "audit.read", DENY),
        ("viewer", "run.read", ALLOW),
        ("viewer", "run.start", DENY),
        ("viewer", "workflow.write", DENY),
        ("approver", "approval.decide", ALLOW),
        ("auditor", "audit.read", ALLOW),
        ("auditor", "run.cancel", DENY),
        ("admin", "audit.read", ALLOW),
        ("mesh", "step.input", ALLOW),
        ("agent", "agent.action", ALLOW),
        ("agent", "run.start", DENY),
        ("nobody", "run.read", DENY),
    ],
)
def test_rbac_needs_the_checkpoint_permission(engine, role, checkpoint, verdict):
    decision = engine.decide(check(checkpoint, user(role)))
    assert decision.verdict == verdict
    expected = (
        ("RBAC_GRANTED", "builtin:rbac") if verdict == ALLOW else ("RBAC_DENIED", "builtin:rbac")
    )
    assert codes(decision)[0] == expected
    assert decision.bundle_version == engine.bundle.version and decision.decision_id


def test_another_tenants_resource_is_always_denied(engine):
    decision = engine.decide(check("run.read", user("admin", tenant="acme"), tenant="globex"))
    assert decision.verdict == DENY
    assert codes(decision) == [("TENANT_MISMATCH", "builtin:tenant")]
    assert "globex" not in decision.reasons[0].message


def test_mesh_services_act_for_every_tenant_but_nobody_else_does(engine):
    router = Subject("service:router", "*", ("mesh",), "mesh")
    assert engine.decide(check("run.read", router, tenant="globex")).verdict == ALLOW
    pretender = Subject("user:eve", "*", ("admin",), "user")
    assert engine.decide(check("run.read", pretender, tenant="globex")).verdict == DENY


def test_cel_rule_requires_approval_and_names_the_approver(engine):
    costly = check("run.start", user("operator"), attributes={"max_cost_usd": 250})
    decision = engine.decide(costly)
    assert decision.verdict == APPROVAL and decision.approver_role == "approver"
    assert ("BUDGET_NEEDS_APPROVAL", "large-budget-needs-approval") in codes(decision)
    cheap = check("run.start", user("operator"), attributes={"max_cost_usd": 20})
    assert engine.decide(cheap).verdict == ALLOW


def test_deny_overrides_require_approval(engine):
    both = check(
        "agent.action",
        user("agent", principal="agent:x", kind="agent"),
        kind="action",
        name="shell.exec",
        attributes={"requires_approval": True},
    )
    decision = engine.decide(both)
    assert decision.verdict == DENY and decision.approver_role == ""
    assert {("ACTION_NEEDS_APPROVAL", "action-flagged-for-approval"),
            ("ACTION_FORBIDDEN", "no-shell-actions")} <= set(codes(decision))  # fmt: skip


def test_approvers_are_never_agents_nor_the_requester(engine):
    agent = user("approver", principal="agent:bot", kind="agent")
    assert ("APPROVER_IS_AGENT", "approver-is-not-an-agent") in codes(
        engine.decide(check("approval.decide", agent, kind="approval"))
    )
    own = check(
        "approval.decide",
        user("approver"),
        kind="approval",
        attributes={"requested_by": "user:ann"},
    )
    assert engine.decide(own).verdict == DENY
    other = check(
        "approval.decide", user("approver"), kind="approval", attributes={"requested_by": "user:bo"}
    )
    assert engine.decide(other).verdict == ALLOW


def test_unknown_checkpoint_fails_closed(engine):
    decision = engine.decide(check("run.explode", user("admin")))
    assert decision.verdict == DENY
    assert codes(decision) == [("POLICY_ERROR", "builtin:checkpoint")]


RULES = """rules:
  - {id: amount-is-text, checkpoint: run.start, when: "payload.amount + 1.0", effect: deny, reason: X}
  - {id: reads-missing, checkpoint: run.read, when: "payload.missing == 'x'", effect: deny, reason: Y}
  - {id: ok-rule, checkpoint: run.read, when: "subject.kind == 'user'", effect: allow, reason: USER}
"""


@pytest.fixture
def strict_engine(tmp_path):
    return engine_for(write_bundle(tmp_path, MINIMAL_BUNDLE.replace("rules: []", RULES)))


def test_non_bool_condition_denies_with_policy_error_naming_the_rule(strict_engine):
    decision = strict_engine.decide(check("run.start", user("operator"), payload={"amount": 3}))
    assert decision.verdict == DENY
    assert ("POLICY_ERROR", "amount-is-text") in codes(decision)
    assert "not a bool" in decision.reasons[-1].message


def test_unknown_field_in_activation_denies_with_policy_error(strict_engine):
    decision = strict_engine.decide(check("run.read", user("operator"), payload={"other": 1}))
    assert decision.verdict == DENY
    assert ("POLICY_ERROR", "reads-missing") in codes(decision)
    assert ("USER", "ok-rule") in codes(decision)  # the other rules still report
    assert "unknown field 'missing'" in decision.reasons[1].message


def test_dry_run_bundle_allows_but_reports_the_would_be_verdict(tmp_path):
    text = MINIMAL_BUNDLE.replace("rules: []", "dry_run: true\n" + RULES)
    engine = engine_for(write_bundle(tmp_path, text))
    decision = engine.decide(check("run.start", user("viewer"), payload={"amount": 3}))
    assert (decision.verdict, decision.evaluated_verdict, decision.dry_run) == (ALLOW, DENY, True)
    assert codes(decision) == [("RBAC_DENIED", "builtin:rbac")]
    crossing = engine.decide(check("run.read", user("operator"), tenant="globex"))
    assert crossing.verdict == DENY  # tenant isolation is never a dry run


def test_a_rule_reading_pii_sees_it_where_the_bundle_masks_nothing(tmp_path):
    rules = """rules:
  - {id: no-mail, checkpoint: run.start, when: "'EMAIL' in pii", effect: deny, reason: MAIL}
"""
    engine = engine_for(write_bundle(tmp_path, MINIMAL_BUNDLE.replace("rules: []", rules)))
    assert engine.bundle.rules_read_pii("run.start")
    assert not engine.bundle.rules_read_pii("run.read")
    mailed = engine.decide(
        check("run.start", user("operator"), payload={"note": "ann@example.com"})
    )
    assert mailed.verdict == DENY and ("MAIL", "no-mail") in codes(mailed)
    plain = engine.decide(check("run.start", user("operator"), payload={"note": "no address"}))
    assert plain.verdict == ALLOW
