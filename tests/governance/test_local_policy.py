"""Policy decided in the router, through a real mesh: every step's decisions reach the
policy service's audit log (stored in the state service's audit outbox with the step,
and relayed from there, even after the audit log could not be written for a while), a
bundle reloaded there reaches the router, and without the policy service steps fail
closed."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
from collections.abc import Awaitable, Callable

import pytest
from governance_support import audit_entries, deploy, execute, of_kind
from mesh_support import Mesh, collect_events
from policy_helpers import DEFAULT_BUNDLE

from airspace.agents.kit import Agent, Reply
from airspace.mesh import channels
from airspace.policy.v1 import policy_pb2, policy_pb2_grpc
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh

TWO_STEPS = """
name: two-steps
pattern: sequential
steps:
  - {name: first, agent: writer}
  - {name: second, agent: editor}
"""
ONE_STEP = """
name: one-step
pattern: sequential
steps:
  - {name: only, agent: holder}
"""
DENY_EDITOR = """
  - id: no-editing
    checkpoint: step.input
    when: resource.name == "editor"
    effect: deny
    reason: NO_EDITING
    description: The editor is off today.
"""


def replying(name: str) -> Agent:
    agent = Agent(name=name, version="1.0.0", description=name)

    @agent.handler
    async def reply(task):
        return Reply(text=f"{name}: {task.text}")

    return agent


class Held:
    """An agent that answers only once the test lets it (and says when it was called)."""

    def __init__(self) -> None:
        self.called = threading.Event()
        self.go = threading.Event()
        self.agent = Agent(name="holder", version="1.0.0", description="holds")

        @self.agent.handler
        async def hold(task):
            self.called.set()
            await asyncio.to_thread(self.go.wait, 30)
            return Reply(text="held output")


async def run_entries(mesh: Mesh, run_id: str) -> list:
    return await audit_entries(mesh.client("user:aud", "acme", ("auditor",)), run_id)


async def held_step_started(client, held: Held) -> asyncio.Future:
    """The events of a one-step run (as they will be), once its agent holds the step."""
    request = run_pb2.ExecuteRunRequest(workflow="one-step")
    reading = asyncio.ensure_future(
        collect_events(client.runs.ExecuteRun(request, metadata=client.metadata))
    )
    await asyncio.to_thread(held.called.wait, 30)
    return reading


async def held_step_outcome(mesh: Mesh, break_policy: Callable[[], Awaitable[None]]) -> list:
    """The events of a one-step run whose agent answers only after `break_policy` ran."""
    await mesh.start()
    held = Held()
    try:
        client = mesh.client()
        await deploy(mesh, client, ONE_STEP, held.agent)
        reading = await held_step_started(client, held)
        await break_policy()
        held.go.set()
        return await reading
    finally:
        held.go.set()
        await mesh.stop()


def output_verdict(events) -> run_pb2.GuardrailVerdict:
    [verdict] = [v for v in of_kind(events, "guardrail_verdict") if v.checkpoint == "step.output"]
    return verdict


def failure_of(events) -> run_pb2.RunStateChanged:
    [ended] = [c for c in of_kind(events, "run_state_changed") if c.to == run_pb2.RUN_STATE_FAILED]
    return ended


async def test_every_decision_of_a_run_is_in_the_audit_log(mesh):
    client = mesh.client()
    await deploy(mesh, client, TWO_STEPS, replying("writer"), replying("editor"))
    events = await execute(client, "two-steps", {"text": "draft"})
    assert of_kind(events, "run_state_changed")[-1].to == run_pb2.RUN_STATE_COMPLETED
    verdicts = of_kind(events, "guardrail_verdict")
    entries = await run_entries(mesh, events[0].run_id)
    decisions = {e.decision_id: e for e in entries if e.kind == "policy.decision"}
    steps = [(v.checkpoint, decisions[v.decision_id].details["step_key"]) for v in verdicts]
    assert steps == [
        ("step.input", "s0001-first"),
        ("step.output", "s0001-first"),
        ("step.input", "s0002-second"),
        ("step.output", "s0002-second"),
    ]
    kinds = [e.kind for e in entries]
    assert kinds.count("run.created") == 1 and kinds.count("run.state_changed") == 2


async def test_a_bundle_reloaded_at_the_policy_service_reaches_the_router(tmp_path):
    bundles = tmp_path / "bundles"
    bundles.mkdir()
    shutil.copy(DEFAULT_BUNDLE, bundles / "default.yaml")
    mesh = Mesh(tmp_path, policy={"bundle_dir": str(bundles)})
    await mesh.start()
    try:
        client = mesh.client()
        await deploy(mesh, client, TWO_STEPS, replying("writer"), replying("editor"))
        before = await execute(client, "two-steps", {"text": "draft"})
        assert of_kind(before, "run_state_changed")[-1].to == run_pb2.RUN_STATE_COMPLETED

        text = DEFAULT_BUNDLE.read_text().replace('version: "2025.11.0"', 'version: "2025.11.1"')
        (bundles / "default.yaml").write_text(
            text.replace("\nrules:\n", "\nrules:\n" + DENY_EDITOR)
        )
        await _reload(mesh)
        for _ in range(100):  # the router hears of the reload over its bundle stream
            after = await execute(client, "two-steps", {"text": "draft"})
            last = of_kind(after, "guardrail_verdict")[-1]
            if last.bundle_version == "2025.11.1":
                break
            await asyncio.sleep(0.02)
    finally:
        await mesh.stop()
    assert last.checkpoint == "step.input" and last.verdict == run_pb2.VERDICT_DENY
    assert [r.code for r in last.reasons if r.rule_id == "no-editing"] == ["NO_EDITING"]
    assert "POLICY_DENIED" in failure_of(after).reason


async def _reload(mesh: Mesh) -> None:
    """ReloadBundle, as an operator's tooling inside the mesh calls it."""
    address = f"127.0.0.1:{mesh.policy.port}"
    me = channels.mesh_identity("router")
    settings = mesh.router_settings
    async with channels.open_channel(address, settings, as_identity=me) as channel:
        await policy_pb2_grpc.PolicyServiceStub(channel).ReloadBundle(
            policy_pb2.ReloadBundleRequest()
        )


async def test_without_the_policy_service_a_step_fails_closed_as_bundle_stale(tmp_path):
    mesh = Mesh(tmp_path, router={"policy_staleness_seconds": 0.0})

    async def stop_policy() -> None:
        await mesh.policy.stop(0)  # the bundle stream breaks: the router's bundle is stale

    events = await held_step_outcome(mesh, stop_policy)
    assert "BUNDLE_STALE" in failure_of(events).reason
    assert [r.code for r in output_verdict(events).reasons] == ["BUNDLE_STALE"]
    assert of_kind(events, "step_completed") == [] and of_kind(events, "run_output") == []


async def test_a_step_goes_on_while_the_audit_log_is_full_and_its_records_follow(tmp_path):
    mesh = Mesh(tmp_path)
    await mesh.start()
    held = Held()
    audit_db = tmp_path / "policy" / "audit.db"
    try:
        client = mesh.client()
        await deploy(mesh, client, ONE_STEP, held.agent)
        reading = await held_step_started(client, held)
        with sqlite3.connect(audit_db) as conn:
            conn.execute(
                "CREATE TRIGGER full BEFORE INSERT ON audit_entries "
                "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            )
        held.go.set()
        # The output's decision is durable in the state service's outbox, with the step:
        # the run needs no audit log to go on.
        events = await reading
        assert of_kind(events, "run_state_changed")[-1].to == run_pb2.RUN_STATE_COMPLETED
        verdict = output_verdict(events)
        assert verdict.verdict == run_pb2.VERDICT_ALLOW and verdict.decision_id
        with sqlite3.connect(audit_db) as conn:
            conn.execute("DROP TRIGGER full")
        entries = await run_entries(mesh, events[0].run_id)  # the relay tried again
        assert [e.decision_id for e in entries].count(verdict.decision_id) == 1
    finally:
        held.go.set()
        await mesh.stop()
