"""What a run writes to the state service, on in-memory repositories: one append per step
(its StepStarted and the run going RUNNING ride with it; the last step's rides with the
end, which frees the run's lease in its transaction), and a run created to execute at
once claimed in its creation."""

from __future__ import annotations

import asyncio

import pytest
from harness import TENANT, Router, answers, failure, final, until

from airspace.agent.v1 import agent_pb2
from airspace.mesh import errors
from airspace.policy.engine import model as policy
from airspace.policy.v1 import policy_pb2
from airspace.router.agent_invoker import OnAction
from airspace.router.repositories import LeaseGrant, Repositories, RunChange
from airspace.router.repositories.in_memory import decision, in_memory_repositories
from airspace.router.run_log import RunLog, event, merged
from airspace.v1 import run_pb2

pytestmark = pytest.mark.unit

QUEUED, RUNNING = run_pb2.RUN_STATE_QUEUED, run_pb2.RUN_STATE_RUNNING
COMPLETED, FAILED = run_pb2.RUN_STATE_COMPLETED, run_pb2.RUN_STATE_FAILED
THREE_STEPS = """
name: three
pattern: sequential
steps:
  - {name: one, agent: alpha}
  - {name: two, agent: alpha}
  - {name: three, agent: alpha}
"""
RETRIED = """
name: retried
pattern: sequential
steps:
  - {name: only, agent: alpha, retry: {max_attempts: 3, initial_backoff: 0.001}}
"""
GATED = """
name: gated
pattern: sequential
steps: [{name: only, agent: alpha, approval: {after: true, role: approver}}]
"""
STEP_KINDS = ("step_started", "step_failed", "retry_scheduled", "step_completed")


def held_until(release: asyncio.Event):
    async def behaviour(start: agent_pb2.InvokeStart, act: OnAction) -> agent_pb2.InvokeEvent:
        await release.wait()
        return final("held")

    return behaviour


def failing_times(times: int, retryable: bool = True):
    left = [times]

    async def behaviour(start: agent_pb2.InvokeStart, act: OnAction) -> agent_pb2.InvokeEvent:
        if left[0]:
            left[0] -= 1
            return failure("flaky", retryable)
        return final("ok")

    return behaviour


def state_changed(was: run_pb2.RunState, to: run_pb2.RunState) -> run_pb2.RunEvent:
    return event(run_state_changed=run_pb2.RunStateChanged(**{"from": was, "to": to}))


def audit_record(record_id: str) -> policy_pb2.AuditRecord:
    return policy_pb2.AuditRecord(kind="run.state_changed", record_id=record_id)


def audited_states(router: Router) -> list[str]:
    return [
        record.details["to"]
        for record in router.repositories.policy.audited  # type: ignore[attr-defined]
        if record.kind == "run.state_changed"
    ]


def step_events(events: list[run_pb2.RunEvent]) -> list[tuple[str, int]]:
    """(kind, attempt) of the step events, in log order (a retry's attempt is the next)."""
    found = []
    for run_event in events:
        kind = run_event.WhichOneof("kind")
        if kind in STEP_KINDS:
            detail = getattr(run_event, kind)
            found.append(
                (kind, detail.next_attempt if kind == "retry_scheduled" else detail.attempt)
            )
    return found


async def test_a_three_step_run_writes_its_creation_and_one_append_per_step_the_last_its_end(
    router,
):
    await router.register("alpha", answers("ok"))
    await router.workflow(THREE_STEPS)
    run = await router.settled(await router.start_run("three"))
    assert run.state == COMPLETED
    # Claimed in its creation, RUNNING with its first step, the last step with the end
    # that frees the lease: no ClaimRun, no transition of its own, no ReleaseLease.
    assert dict(router.repositories.runs.writes) == {"create": 1, "append": 3}
    events = await router.events(run)
    assert [e.run_state_changed.to for e in events if e.HasField("run_state_changed")] == [
        RUNNING,
        COMPLETED,
    ]
    keyed = [
        (e.WhichOneof("kind"), e.step_key)
        for e in events
        if e.HasField("step_started") or e.HasField("step_completed")
    ]
    assert keyed == [
        (kind, f"s000{number}-{name}")
        for number, name in enumerate(("one", "two", "three"), start=1)
        for kind in ("step_started", "step_completed")
    ]
    assert audited_states(router) == ["RUN_STATE_RUNNING", "RUN_STATE_COMPLETED"]
    assert not router.repositories.runs.leases.held(run.run_id)


async def test_a_run_that_must_wait_for_a_place_is_claimed_when_its_turn_comes():
    router = Router(max_running_runs=1)
    try:
        release = asyncio.Event()
        await router.register("alpha", held_until(release))
        await router.workflow(THREE_STEPS)
        first = await router.start_run("three")
        while not router.agents.calls:  # the first run holds the one place
            await asyncio.sleep(0.01)
        second = await router.start_run("three")  # waits in the admission queue, unleased
        assert not router.repositories.runs.leases.held(second.run_id)
        release.set()
        for run in (first, second):
            assert (await router.settled(run)).state == COMPLETED
        assert router.repositories.runs.writes["claim"] == 1
        assert router.repositories.runs.writes["release"] == 0
    finally:
        await router.close()


async def test_a_repeated_start_joins_its_run_without_a_second_grant(router):
    release = asyncio.Event()
    await router.register("alpha", held_until(release))
    await router.workflow(THREE_STEPS)
    run = await router.start_run("three", request_id="req-1")
    again = await router.start_run("three", request_id="req-1")
    assert again.run_id == run.run_id
    # What the repeat was told: the grant this router holds, not a new one.
    repeat = run_pb2.Run(run_id="other", tenant=TENANT, request_id="req-1")
    claim = await router.executor.creation_claim()
    assert claim is not None
    replayed = await router.repositories.runs.create(repeat, claim=claim)
    assert (replayed.created, replayed.run.run_id, replayed.grant) == (
        False,
        run.run_id,
        LeaseGrant(1),
    )
    release.set()
    assert (await router.settled(run)).state == COMPLETED
    assert len(router.agents.calls) == 3, "the run was executed once"
    replica = router.replica("router-2")
    try:
        # Another router repeating the request gets the run, not its lease.
        assert (await replica.start_run("three", request_id="req-1")).run_id == run.run_id
        assert not replica.executor.busy(run.run_id)
    finally:
        await replica.close()


async def test_a_watcher_sees_a_step_start_while_the_agent_still_works(router):
    release = asyncio.Event()
    await router.register("alpha", held_until(release))
    await router.workflow(THREE_STEPS)
    run = await router.start_run("three")
    seen = []
    async with asyncio.timeout(10):  # a bound on a hang, not a measurement
        async for run_event in router.repositories.runs.watch(TENANT, run.run_id, 0, 10):
            seen.append(run_event.WhichOneof("kind"))
            if run_event.HasField("step_started"):
                break
    # The flush timer took the step's start, and the run's change to RUNNING with it.
    assert (seen[0], seen[-1]) == ("run_state_changed", "step_started")
    assert "step_completed" not in seen
    assert (await router.repositories.runs.get(TENANT, run.run_id)).state == RUNNING
    assert not await router.repositories.runs.journal(TENANT, run.run_id)
    release.set()
    assert (await router.settled(run)).state == COMPLETED


async def test_retried_attempts_are_recorded_in_order_with_the_step_that_completes(router):
    await router.register("alpha", failing_times(2))
    run = await router.run(RETRIED)
    assert run.state == COMPLETED
    assert step_events(await router.events(run)) == [
        ("step_started", 1),
        ("step_failed", 1),
        ("retry_scheduled", 2),
        ("step_started", 2),
        ("step_failed", 2),
        ("retry_scheduled", 3),
        ("step_started", 3),
        ("step_completed", 3),
    ]


async def test_a_failed_step_is_recorded_with_the_end_of_its_run_in_one_append(router):
    await router.register("alpha", failing_times(1, retryable=False))
    run = await router.run(RETRIED)
    assert run.state == FAILED
    events = await router.events(run)
    assert step_events(events) == [("step_started", 1), ("step_failed", 1)]
    assert events[-1].run_state_changed.to == FAILED
    assert router.repositories.runs.writes["append"] == 1
    assert router.repositories.runs.writes["release"] == 0
    assert not router.repositories.runs.leases.held(run.run_id)


async def test_a_run_that_parks_for_a_person_releases_its_lease_itself(router):
    await router.register("alpha", answers("ok"))
    run = await router.run(GATED)
    assert run.state == run_pb2.RUN_STATE_WAITING_APPROVAL
    assert router.repositories.runs.writes["release"] == 1
    assert not router.repositories.runs.leases.held(run.run_id)
    events = await router.events(run)
    assert [e.run_state_changed.to for e in events if e.HasField("run_state_changed")] == [
        RUNNING,
        run_pb2.RUN_STATE_WAITING_APPROVAL,
    ]


def test_a_later_change_wins_field_by_field_and_the_earlier_expected_states_stand():
    earlier = RunChange(run_pb2.Run(run_id="r1", state=RUNNING, usage={"steps": 1}), (QUEUED,))
    later = RunChange(run_pb2.Run(run_id="r1", state=COMPLETED, usage={"tokens": 5}), (RUNNING,))
    both = merged(earlier, later)
    assert both is not None
    assert both.run == run_pb2.Run(run_id="r1", state=COMPLETED, usage={"tokens": 5})
    assert both.expected_states == (QUEUED,)
    assert merged(None, later) is later and merged(earlier, None) is earlier


async def unleased_log() -> tuple[Repositories, int, RunLog]:
    """A run r1, router-1 registered (its epoch) but not holding r1's lease yet, and the
    log router-1 would write r1 with under its first grant."""
    repositories = in_memory_repositories()
    runs = repositories.runs
    await runs.create(run_pb2.Run(run_id="r1", tenant=TENANT, request_id="q1"))
    epoch = await repositories.leases.register("router-1", 5.0)
    run_log = RunLog(runs, TENANT, "r1", lease_owner="router-1", lease_token=1, last_sequence=0)
    return repositories, epoch, run_log


async def test_a_held_change_rides_with_the_next_append_and_survives_a_refused_one():
    repositories, epoch, run_log = await unleased_log()
    runs, outbox = repositories.runs, repositories.runs.outbox  # type: ignore[attr-defined]
    run_log.change_later(
        state_changed(QUEUED, RUNNING),
        run=run_pb2.Run(run_id="r1", state=RUNNING),
        expected_states=(QUEUED,),
        audit=[audit_record("running")],
    )
    assert runs.writes["append"] == 0
    with pytest.raises(errors.FailedPrecondition) as refused:
        await run_log.append(event("s1", step_started=run_pb2.StepStarted(attempt=1)))
    assert refused.value.reason == "LEASE_NOT_HELD"
    assert outbox.entries == {} and (await runs.get(TENANT, "r1")).state == QUEUED
    assert await repositories.leases.claim("r1", "router-1", epoch) is not None
    ended = await run_log.append_with_update(
        state_changed(RUNNING, COMPLETED),
        run=run_pb2.Run(run_id="r1", state=COMPLETED),
        expected_states=(RUNNING,),  # of the pending state; the stored one is QUEUED
        audit=[audit_record("completed")],
    )
    assert ended.state == COMPLETED and run_log.ended
    # Both changes' records, stored with the append that made them, under its writer.
    assert sorted(outbox.entries) == ["completed", "running"]
    assert {owner for owner, _ in outbox.entries.values()} == {"router-1"}
    kinds = [e.WhichOneof("kind") for e in await runs.events(TENANT, "r1", 0, 100)]
    assert kinds == ["run_state_changed", "step_started", "run_state_changed"]
    changes = [e.run_state_changed.to for e in await runs.events(TENANT, "r1", 0, 100)]
    assert [changes[0], changes[2]] == [RUNNING, COMPLETED]
    assert not repositories.leases.held("r1")  # type: ignore[attr-defined]


async def test_a_carried_record_survives_a_refused_append_and_a_changes_own_does_not():
    repositories, epoch, run_log = await unleased_log()
    runs, outbox = repositories.runs, repositories.runs.outbox  # type: ignore[attr-defined]
    run_log.carry(audit_record("decision"))
    with pytest.raises(errors.FailedPrecondition):  # no lease yet
        await run_log.append_with_update(
            state_changed(QUEUED, RUNNING),
            run=run_pb2.Run(run_id="r1", state=RUNNING),
            audit=[audit_record("not-made")],
        )
    assert outbox.entries == {}
    assert await repositories.leases.claim("r1", "router-1", epoch) is not None
    await run_log.store_audit()  # the decision's record, before what it authorizes acts
    assert list(outbox.entries) == ["decision"]
    writes = runs.writes["append"]
    await run_log.store_audit()  # nothing waits: no write
    assert runs.writes["append"] == writes


async def test_a_runs_records_are_relayed_to_the_audit_log_and_leave_the_outbox(router):
    await router.register("alpha", answers("ok"))
    await router.workflow(THREE_STEPS)
    run = await router.settled(await router.start_run("three"))
    assert run.state == COMPLETED
    audit_log = router.repositories.audit_log
    # The start's decision and the creation, RUNNING, three steps checked twice each,
    # COMPLETED: each stored with its write, none on its own.
    await until(lambda: len(audit_log.durable) == 10)  # type: ignore[attr-defined]
    await until(lambda: not router.repositories.runs.outbox.entries)  # type: ignore[attr-defined]
    start = audit_log.durable[0]  # type: ignore[attr-defined]
    assert start.kind == "policy.decision"  # filed under the run it allowed
    assert all(record.run_id == run.run_id for record in audit_log.durable)  # type: ignore[attr-defined]
    assert router.repositories.policy.stored == []  # type: ignore[attr-defined]
    assert router.repositories.runs.outbox.removals == len(audit_log.batches)  # type: ignore[attr-defined]


async def test_a_lapsed_routers_records_are_taken_over_and_relayed_by_another():
    repositories = in_memory_repositories()
    runs = repositories.runs
    await runs.create(run_pb2.Run(run_id="r1", tenant=TENANT, request_id="q1"))
    await repositories.leases.register("router-0", 5.0)
    runs.outbox.keep("router-0", [audit_record("left-behind")])  # type: ignore[attr-defined]
    repositories.leases.expire("router-0")  # type: ignore[attr-defined]
    survivor = Router(repositories=repositories, router_id="router-1")
    survivor.executor.start_recovery()
    try:
        await until(lambda: bool(repositories.audit_log.durable))  # type: ignore[attr-defined]
        [record] = repositories.audit_log.durable  # type: ignore[attr-defined]
        assert record.record_id == "left-behind"
        await until(lambda: not runs.outbox.entries)  # type: ignore[attr-defined]
    finally:
        await survivor.close()


def carried_kinds(appended: list[tuple[RunChange | None, list]]) -> list[tuple[int, list[str]]]:
    """(state the append sets, 0 for none; the checkpoints or kinds of its audit records)."""
    return [
        (
            change.run.state if change is not None else 0,
            [r.kind for r in audit],
        )
        for change, audit in appended
    ]


def spy_appends(router: Router) -> list[tuple[RunChange | None, list]]:
    """Records each append's change and audit records as the state service gets them."""
    runs = router.repositories.runs
    seen: list[tuple[RunChange | None, list]] = []
    append = runs.append

    async def spied(tenant, run_id, events, **kwargs):
        appended = await append(tenant, run_id, events, **kwargs)
        seen.append((kwargs.get("change"), list(kwargs.get("audit", ()))))
        return appended

    runs.append = spied  # type: ignore[method-assign]
    return seen


async def test_a_denial_that_fails_the_run_is_stored_with_the_failure(router):
    router.repositories.policy.verdicts["step.input"] = decision(  # type: ignore[attr-defined]
        policy.Verdict.DENY, decision_id="denied"
    )
    appended = spy_appends(router)
    await router.register("alpha", answers("ok"))
    await router.workflow(THREE_STEPS)
    run = await router.settled(await router.start_run("three"))
    assert run.state == FAILED
    # One write: RUNNING, the denial and FAILED together.
    [(state, kinds)] = carried_kinds(appended)
    assert state == FAILED and kinds == [
        "run.state_changed",
        "policy.decision",
        "run.state_changed",
    ]


async def test_a_decision_holding_a_run_for_a_person_is_stored_before_its_approval(router):
    router.repositories.policy.verdicts["step.output"] = decision(  # type: ignore[attr-defined]
        policy.Verdict.REQUIRE_APPROVAL, decision_id="held", approver_role="approver"
    )
    approvals = router.repositories.approvals
    outbox = router.repositories.runs.outbox  # type: ignore[attr-defined]
    stored_before: list[set[str]] = []
    create = approvals.create

    async def spied(approval):
        stored_before.append({record.decision_id for _, record in outbox.entries.values()})
        return await create(approval)

    approvals.create = spied  # type: ignore[method-assign]
    await router.register("alpha", answers("ok"))
    await router.workflow(THREE_STEPS)
    run = await router.settled(await router.start_run("three"))
    assert run.state == run_pb2.RUN_STATE_WAITING_APPROVAL
    [stored] = stored_before
    assert "held" in stored


async def test_a_start_rides_with_the_creation_and_one_that_creates_nothing_is_stored_alone(
    router,
):
    policy_port = router.repositories.policy
    outbox = router.repositories.runs.outbox  # type: ignore[attr-defined]
    await router.register("alpha", held_until(asyncio.Event()))
    await router.workflow(THREE_STEPS)
    run = await router.start_run("three", request_id="req-1")
    assert policy_port.stored == []  # type: ignore[attr-defined]
    assert "record-1" in outbox.entries  # the start's decision, kept with the creation
    again = await router.start_run("three", request_id="req-1")
    assert again.run_id == run.run_id
    # The repeat's own decision had no creation to ride with: it was recorded on its own.
    [alone] = policy_port.stored  # type: ignore[attr-defined]
    assert alone.kind == "policy.decision" and alone.record_id not in outbox.entries


async def test_a_refused_start_is_recorded_before_the_caller_hears_it(router):
    router.repositories.policy.verdicts["run.start"] = decision(  # type: ignore[attr-defined]
        policy.Verdict.DENY, decision_id="refused"
    )
    await router.workflow(THREE_STEPS)
    with pytest.raises(errors.PermissionDenied):
        await router.start_run("three")
    [refusal] = router.repositories.policy.stored  # type: ignore[attr-defined]
    assert refusal.decision_id == "refused"
    assert router.repositories.runs.outbox.entries == {}  # type: ignore[attr-defined]
