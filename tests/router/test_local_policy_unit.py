"""Policy decided in the router (router/local_policy) on in-memory fakes of the policy
service's bundle stream and audit log: it fails closed without a bundle or with a stale
one, follows reloads, and answers a check only once its audit record is durable (in
batches that concurrent checks share) or handed to the run's log, for the audit outbox."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from bundle_messages import HASH_KEY, STALENESS, Clock, bundle, default_document
from google.protobuf import json_format
from harness import TENANT, Router, answers, until

from airspace.mesh.reasons import Reason
from airspace.policy.engine.model import Resource, Subject
from airspace.router.guard import Guard, agent_subject
from airspace.router.local_policy.audit_batcher import AuditBatcher
from airspace.router.local_policy.bundle_feed import BundleFeed
from airspace.router.local_policy.decisions import LocalPolicyDecisions
from airspace.router.repositories import AuditEvent
from airspace.router.repositories.in_memory import (
    InMemoryAuditSink,
    InMemoryBundleSource,
    in_memory_repositories,
)
from airspace.v1 import run_pb2

pytestmark = pytest.mark.unit


@dataclasses.dataclass
class Local:
    source: InMemoryBundleSource
    sink: InMemoryAuditSink
    clock: Clock
    feed: BundleFeed
    decisions: LocalPolicyDecisions

    @property
    def guard(self) -> Guard:
        return Guard(self.decisions)


def started(patience: float) -> Local:
    """Local decisions over fakes, started now, waiting up to `patience` for a first bundle."""
    source, sink, clock = InMemoryBundleSource(), InMemoryAuditSink(), Clock()
    feed = BundleFeed(
        source, HASH_KEY, staleness_seconds=STALENESS, first_bundle_seconds=patience, clock=clock
    )
    decisions = LocalPolicyDecisions(feed, AuditBatcher(sink))
    decisions.start()
    return Local(source, sink, clock, feed, decisions)


@pytest.fixture
async def local():
    started_now = started(patience=0.0)
    yield started_now
    started_now.sink.release.set()
    await started_now.decisions.close()


@pytest.fixture
async def patient():
    started_now = started(patience=60.0)
    yield started_now
    await started_now.decisions.close()


@pytest.fixture
async def ready(local):
    """`local` deciding with the default bundle."""
    local.source.publish(bundle(default_document()))
    await in_force(local, "2025.11.0")
    return local


async def first_batch_held(local: Local) -> asyncio.Future:
    """A check whose batch is sent but not acknowledged yet."""
    local.sink.release.clear()
    judging = asyncio.ensure_future(judge_input(local.guard))
    await until(lambda: len(local.sink.batches) == 1)
    return judging


async def in_force(local: Local, version: str) -> None:
    """Waits until the feed decides with bundle `version`."""

    async def current() -> str:
        try:
            return (await local.feed.engine()).bundle.version
        except Exception:
            return ""

    for _ in range(500):
        if await current() == version:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"bundle {version} never came into force")


@dataclasses.dataclass
class Carried:
    """A carrier that keeps what it is handed (a run's log stores it with its next append)."""

    records: list

    def carry(self, record) -> None:
        self.records.append(record)


async def judge_input(
    guard: Guard, payload: dict | None = None, agent: str = "writer", carrier=None
):
    resource = Resource(kind="agent", name=agent, tenant=TENANT)
    return await guard.judge(
        "step.input",
        agent_subject(agent, TENANT),
        resource,
        payload if payload is not None else {"text": "hello"},
        run_id="run-1",
        step_key=f"s0001-{agent}",
        carrier=carrier,
    )


async def refused_with(local: Local, problem: str):
    """A judgement refused for `problem`, once the feed has read what was published."""
    for _ in range(500):
        judged = await judge_input(local.guard)
        if not judged.allowed and problem in judged.verdict.reasons[0].message:
            return judged
        await asyncio.sleep(0.01)
    raise AssertionError(f"never refused for {problem!r}")


def codes(judgement) -> list[str]:
    return [reason.code for reason in judgement.verdict.reasons]


async def test_without_a_bundle_a_step_is_denied_and_nothing_is_recorded(local):
    judged = await judge_input(local.guard)
    assert judged.verdict.verdict == run_pb2.VERDICT_DENY
    assert codes(judged) == [Reason.POLICY_UNAVAILABLE]
    assert judged.refusal is Reason.POLICY_UNAVAILABLE
    assert local.sink.batches == []


async def test_right_after_start_a_check_waits_for_the_first_bundle(patient):
    judging = asyncio.ensure_future(judge_input(patient.guard))
    await asyncio.sleep(0.05)
    assert not judging.done()  # a run resumed at start-up is not refused for want of a bundle
    patient.source.publish(bundle(default_document()))
    assert (await judging).allowed


async def test_past_the_start_up_patience_a_check_without_a_bundle_is_denied_at_once(patient):
    patient.clock.now += 61.0
    judged = await asyncio.wait_for(judge_input(patient.guard), 5)
    assert codes(judged) == [Reason.POLICY_UNAVAILABLE]


async def test_a_bundle_stream_down_past_the_bound_denies_with_bundle_stale(ready):
    local = ready
    local.source.cut()
    await until(lambda: not local.feed.connected)
    local.clock.now += STALENESS / 2  # within the bound: still decided
    assert (await judge_input(local.guard)).allowed
    local.clock.now += STALENESS
    judged = await judge_input(local.guard)
    assert judged.verdict.verdict == run_pb2.VERDICT_DENY
    assert codes(judged) == [Reason.BUNDLE_STALE] and judged.refusal is Reason.BUNDLE_STALE

    local.source.restore()  # the feed reconnects on its own and decides again
    await until(lambda: local.feed.connected)
    assert (await judge_input(local.guard)).allowed


async def test_keepalives_keep_an_open_stream_current_and_silence_makes_it_stale(ready):
    local = ready
    for _ in range(3):  # longer than the bound in all, but never silent for that long
        local.clock.now += STALENESS * 0.9
        local.source.keepalive()
        await until(lambda: local.feed.connected)
        assert (await judge_input(local.guard)).allowed
    local.clock.now += STALENESS + 1  # the stream stays open but delivers nothing
    assert not local.feed.connected
    judged = await judge_input(local.guard)
    assert codes(judged) == [Reason.BUNDLE_STALE] and judged.refusal is Reason.BUNDLE_STALE
    local.source.keepalive()  # it speaks again: the bundle in force is current again
    await until(lambda: local.feed.connected)
    assert (await judge_input(local.guard)).allowed


async def test_a_reload_at_the_policy_service_decides_the_next_check(local):
    local.source.publish(bundle(default_document("1")))
    await in_force(local, "1")
    assert (await judge_input(local.guard)).verdict.bundle_version == "1"
    local.source.publish(bundle(default_document("2")))
    await in_force(local, "2")
    judged = await judge_input(local.guard)
    assert judged.verdict.bundle_version == "2"
    assert local.sink.durable[-1].details["bundle_version"] == "2"
    assert local.source.opened == 1  # one stream carried both


async def test_a_bundle_hashed_with_another_key_is_refused(local):
    local.source.publish(bundle(default_document(), key=b"another key"))
    judged = await refused_with(local, "another key")
    assert codes(judged) == [Reason.POLICY_UNAVAILABLE]
    assert local.sink.batches == []  # nothing decided, so nothing to record


async def test_a_bundle_the_router_cannot_enforce_stops_the_previous_one_too(ready):
    ready.source.publish(bundle(b"name: broken\nversion: [unclosed\n"))
    judged = await refused_with(ready, "not valid in this router")
    assert codes(judged) == [Reason.POLICY_UNAVAILABLE]


async def test_a_check_answers_only_once_its_record_is_durable(ready):
    local = ready
    judging = await first_batch_held(local)
    await asyncio.sleep(0.05)
    assert not judging.done() and local.sink.durable == []
    local.sink.release.set()
    judged = await judging
    [record] = local.sink.durable
    assert judged.verdict.decision_id == record.decision_id
    assert record.kind == "policy.decision" and record.details["step_key"] == "s0001-writer"


async def test_checks_arriving_during_a_batch_share_the_next_one(ready):
    local = ready
    first = await first_batch_held(local)
    later = [asyncio.ensure_future(judge_input(local.guard, agent=f"a{n}")) for n in range(5)]
    await asyncio.sleep(0.05)
    local.sink.release.set()
    await asyncio.gather(first, *later)
    assert [len(batch) for batch in local.sink.batches] == [1, 5]
    # Each batch has an id of its own, for the policy service to append it once.
    first_id, second_id = local.sink.request_ids
    assert first_id and second_id and first_id != second_id


async def test_a_lifecycle_record_for_the_outbox_is_masked_and_has_an_id_of_its_own(ready):
    local = ready
    event = AuditEvent(
        "run.state_changed",
        Subject(principal="service:router", tenant=TENANT),
        "run-1",
        {"reason": "mail ann@example.com"},
    )
    first, second = (local.decisions.outbox_record(event) for _ in range(2))
    assert local.sink.batches == []  # stored with the change it describes, not sent
    assert first.kind == "run.state_changed" and first.run_id == "run-1"
    assert first.record_id and first.record_id != second.record_id
    assert "ann@example.com" not in json_format.MessageToJson(first)


async def test_a_decision_handed_to_a_carrier_waits_for_no_audit_log(ready):
    local = ready
    local.sink.release.clear()  # an audit log that never answers
    carried: list = []
    judged = await judge_input(local.guard, carrier=Carried(carried))
    assert judged.allowed and local.sink.batches == []
    [record] = carried
    assert record.decision_id == judged.verdict.decision_id and record.record_id
    assert record.details["checkpoint"] == "step.input"


async def test_a_failed_batch_denies_every_check_waiting_on_it(ready):
    local = ready
    local.sink.failing = True
    judged = await asyncio.gather(*(judge_input(local.guard, agent=f"a{n}") for n in range(3)))
    for judgement in judged:
        assert judgement.verdict.verdict == run_pb2.VERDICT_DENY
        assert codes(judgement) == [Reason.POLICY_UNAVAILABLE]


async def test_tokens_travel_with_the_record_to_the_vault_and_pii_stays_out(local):
    local.source.publish(bundle(_tokenizing_email(default_document())))
    await in_force(local, "2025.11.0")
    judged = await judge_input(local.guard, {"text": "write to ann@example.com"})
    [record] = local.sink.durable
    [token] = record.tokens
    assert token.value == "ann@example.com" and record.vault_tenant == TENANT
    assert token.token in judged.payload["text"]
    assert "ann@example.com" not in json_format.MessageToJson(record.details)


async def test_a_decision_holding_tokens_skips_the_carrier_its_values_go_to_the_vault(local):
    local.source.publish(bundle(_tokenizing_email(default_document())))
    await in_force(local, "2025.11.0")
    carried: list = []
    judged = await judge_input(
        local.guard, {"text": "write to ann@example.com"}, carrier=Carried(carried)
    )
    assert judged.allowed and carried == []  # token values never go to state
    [record] = local.sink.durable
    assert record.tokens and not record.record_id


def _tokenizing_email(document: bytes) -> bytes:
    return document.replace(b"EMAIL: {operator: PARTIAL}", b"EMAIL: {operator: TOKENIZE}", 1)


async def test_in_a_run_each_steps_decisions_are_stored_no_later_than_its_journal_entry(ready):
    local = ready
    repositories = dataclasses.replace(
        in_memory_repositories(), policy=local.decisions, audit_log=local.sink
    )
    router = Router(repositories=repositories)
    # For each step, the decisions stored by the time the append that journals it did.
    stored_by: dict[str, set[tuple[str, str]]] = {}
    stored: set[tuple[str, str]] = set()
    append = repositories.runs.append

    async def spied(tenant, run_id, events, **kwargs):
        stored.update(
            (r.details["checkpoint"], r.details["step_key"])
            for r in kwargs.get("audit", ())
            if r.kind == "policy.decision"
        )
        for entry in kwargs.get("journal", ()):
            stored_by[entry.step_key] = set(stored)
        return await append(tenant, run_id, events, **kwargs)

    repositories.runs.append = spied  # type: ignore[method-assign]

    def step_decisions() -> list[str]:
        return [
            r.details["checkpoint"]
            for r in local.sink.durable
            if r.kind == "policy.decision" and r.details["checkpoint"].startswith("step.")
        ]

    for name in ("one", "two"):
        await router.register(name, answers("done"))
    run = await router.run(
        "name: two\npattern: sequential\nsteps: [{name: a, agent: one}, {name: b, agent: two}]\n"
    )
    assert run.state == run_pb2.RUN_STATE_COMPLETED
    # No step counts as done before its decisions are durable (step a's entry rides with
    # step b's start, so it carries b's input decision too).
    assert set(stored_by) == {"s0001-a", "s0002-b"}
    for key, decided in stored_by.items():
        assert {("step.input", key), ("step.output", key)} <= decided
    # Then relayed to the audit log, each record once, and gone from the outbox.
    await until(lambda: len(step_decisions()) == 4)
    await until(lambda: not repositories.runs.outbox.entries)  # type: ignore[attr-defined]
    await router.close()
    kinds = [r.kind for r in local.sink.durable if r.record_id]
    # (The harness creates its runs itself: no run.created.)
    assert sorted(kinds) == ["policy.decision"] * 4 + ["run.state_changed"] * 2
    assert len({r.record_id for r in local.sink.durable if r.record_id}) == len(kinds)
