"""The audit trail of a run through the gateway: policy decisions and the approval decision
are in the hash-chained log, and `airspace audit verify` finds a tampered file (the
attacks on the log itself: tests/policy/test_policy_audit_tampering.py)."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest
from governance_support import as_dict, audit_entries, decide, deploy, ending, start, watch
from mesh_support import wait_for_approvals
from policy_helpers import tamper

from airspace.agents.kit import Agent, Reply
from airspace.cli.main import main as airspace
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh

REVIEWED = """
name: reviewed
pattern: sequential
steps:
  - {name: draft, agent: drafter, approval: {after: true}}
"""


def drafter() -> Agent:
    agent = Agent(name="drafter", version="1.0.0", description="drafts")

    @agent.handler
    async def draft(task):
        return Reply(text="a draft")

    return agent


@pytest.fixture
async def audited_run(mesh, monkeypatch):
    """A run whose output an approver approved; the CLI is set up as an auditor of acme."""
    client = mesh.client()
    await deploy(mesh, client, REVIEWED, drafter())
    run = await start(client, "reviewed")
    approver = mesh.client("user:ada", "acme", ("approver",))
    [pending] = await wait_for_approvals(approver)
    await decide(approver, pending, run_pb2.APPROVAL_OUTCOME_APPROVED, "looks right")
    assert ending(await watch(client, run.run_id)).to == run_pb2.RUN_STATE_COMPLETED
    monkeypatch.setenv("AIRSPACE_API_KEY", mesh.keys.create("user:aud", "acme", ("auditor",)))
    monkeypatch.setenv("AIRSPACE_HOME", str(mesh.tmp_path / "cli-home"))
    return run


async def cli(mesh, capsys, *argv: str) -> tuple[int, str]:
    code = await asyncio.to_thread(airspace, ["--gateway", mesh.gateway, *argv])
    return code, capsys.readouterr().out


async def test_the_runs_decisions_and_its_approval_are_in_the_audit_log(mesh, audited_run):
    auditor = mesh.client("user:aud2", "acme", ("auditor",))
    entries = await audit_entries(auditor, audited_run.run_id)
    kinds = [entry.kind for entry in entries]
    assert kinds.count("policy.decision") >= 2  # the step's input and output checks
    [decided] = [entry for entry in entries if entry.kind == "approval.decided"]
    details = as_dict(decided.details)
    assert decided.principal == "user:ada" and decided.tenant == "acme"
    assert details["outcome"] == "APPROVAL_OUTCOME_APPROVED"
    assert details["requested_by"] == "user:olivia" and details["comment"] == "looks right"


async def test_audit_verify_passes_then_finds_an_edited_approval(mesh, audited_run, capsys):
    # Once the run's records are relayed, the log verifies with them.
    await audit_entries(mesh.client("user:aud2", "acme", ("auditor",)), audited_run.run_id)
    code, out = await cli(mesh, capsys, "audit", "verify")
    assert code == 0 and "audit log intact" in out
    assert all(name in out for name in ("chain", "signatures", "heads", "coverage", "witness"))

    database = mesh.tmp_path / "policy" / "audit.db"
    with sqlite3.connect(database) as conn:
        sequence, details = conn.execute(
            "SELECT sequence, details FROM audit_entries WHERE kind = 'approval.decided'"
        ).fetchone()
    forged = json.dumps({**json.loads(details), "outcome": "APPROVAL_OUTCOME_REJECTED"})
    tamper(database, f"UPDATE audit_entries SET details = '{forged}' WHERE sequence = {sequence}")

    code, out = await cli(mesh, capsys, "audit", "verify", "--json")
    assert code == 1
    result = json.loads(out)  # proto field names; `ok: false` is a default, left out
    assert "ok" not in result and int(result["first_bad_sequence"]) == sequence
    [chain] = [check for check in result["checks"] if check["name"] == "chain"]
    assert "content does not match its hash" in chain["findings"][0]["problem"]
    code, out = await cli(mesh, capsys, "audit", "verify")
    assert code == 1 and f"audit log BROKEN at entry {sequence}" in out and "FAIL" in out


async def test_the_runs_lifecycle_is_in_the_audit_log(mesh, audited_run):
    auditor = mesh.client("user:aud2", "acme", ("auditor",))
    entries = await audit_entries(auditor, audited_run.run_id)
    assert [e.principal for e in entries if e.kind == "run.created"] == ["user:olivia"]
    changes = [as_dict(e.details) for e in entries if e.kind == "run.state_changed"]
    assert [(c["from"], c["to"]) for c in changes] == [
        ("RUN_STATE_QUEUED", "RUN_STATE_RUNNING"),
        ("RUN_STATE_RUNNING", "RUN_STATE_WAITING_APPROVAL"),
        ("RUN_STATE_WAITING_APPROVAL", "RUN_STATE_QUEUED"),
        ("RUN_STATE_QUEUED", "RUN_STATE_RUNNING"),
        ("RUN_STATE_RUNNING", "RUN_STATE_COMPLETED"),
    ]
