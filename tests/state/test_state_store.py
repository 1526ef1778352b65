"""Every state store implementation on a real database: semantics, concurrency, durability."""

from __future__ import annotations

import asyncio

import pytest
from state_helpers import make_run, started, struct, value

from airspace.agent.v1 import agent_pb2
from airspace.mesh import errors
from airspace.state.store.approvals import Decision
from airspace.state.v1 import state_pb2
from airspace.state.watch import watch_events
from airspace.v1 import agent_registry_pb2, approval_pb2, run_pb2, workflow_pb2

pytestmark = pytest.mark.unit

RUNNING, COMPLETED = run_pb2.RUN_STATE_RUNNING, run_pb2.RUN_STATE_COMPLETED


def completed(step: str, text: str = "done") -> state_pb2.JournalEntry:
    entry = state_pb2.JournalEntry(step_key=step, step_name=step, agent="writer", attempt=1)
    entry.output.message.parts.add().text = text
    return entry


async def append(store, run_id, *events, journal=(), expected=None, owner="", tenant="acme"):
    appended = await store.runs.append_events(
        tenant,
        run_id,
        list(events),
        list(journal),
        expected_last_sequence=expected,
        lease_owner=owner,
    )
    return appended.last_sequence


async def list_runs(store, tenant="acme", *, workflow="", state=0, page_size=50, page_token=""):
    return await store.runs.list_runs(
        tenant, workflow=workflow, state=state, page_size=page_size, page_token=page_token
    )


# Runs --------------------------------------------------------------------


async def test_create_run_stamps_it_and_is_idempotent_by_request_id(store):
    first = await store.runs.create_run(make_run("r1"))
    run = first.run
    assert first.created and not first.fencing_token
    assert (run.name, run.state, run.last_event_sequence) == (
        "runs/r1",
        run_pb2.RUN_STATE_QUEUED,
        0,
    )
    assert run.create_time.seconds and run.update_time == run.create_time

    retry = make_run("r1-retry")
    retry.request_id = "req-r1"
    again = await store.runs.create_run(retry)
    assert not again.created and again.run == run
    assert await store.runs.get_run("acme", "r1") == run


async def test_a_request_id_reused_with_another_digest_is_refused_naming_the_run(store):
    run = (await store.runs.create_run(make_run("r1"), "digest-a")).run
    retry = make_run("r1-retry")
    retry.request_id = "req-r1"
    again = await store.runs.create_run(retry, "digest-a")
    assert not again.created and again.run == run
    with pytest.raises(errors.AlreadyExists) as refused:
        await store.runs.create_run(retry, "digest-b")
    assert refused.value.reason == "REQUEST_ID_REUSED"
    assert refused.value.metadata == {"run": "runs/r1"} and "runs/r1" in refused.value.message
    # A caller that sends no digest is not compared, nor a run stored without one.
    assert (await store.runs.create_run(retry)).run == run
    await store.runs.create_run(make_run("r2"))
    legacy = make_run("r2-retry")
    legacy.request_id = "req-r2"
    assert (await store.runs.create_run(legacy, "digest-c")).run.run_id == "r2"


async def test_run_id_taken_by_another_request_is_already_exists(store):
    await store.runs.create_run(make_run("r1"))
    clash = make_run("r1")
    clash.request_id = "another"
    with pytest.raises(errors.AlreadyExists):
        await store.runs.create_run(clash)


async def test_another_tenants_run_is_not_found(store):
    await store.runs.create_run(make_run("r1"))
    with pytest.raises(errors.NotFound):
        await store.runs.get_run("globex", "r1")
    with pytest.raises(errors.NotFound):
        await append(store, "r1", started(), tenant="globex")
    with pytest.raises(errors.NotFound):
        await store.runs.list_events("globex", "r1", after_sequence=0, limit=10)
    with pytest.raises(errors.NotFound):
        await store.runs.get_journal("globex", "r1")
    with pytest.raises(errors.NotFound):
        await store.runs.update_run(
            "globex", run_pb2.Run(run_id="r1", state=RUNNING), ["state"], ()
        )
    assert (await list_runs(store, "globex")).items == []


async def test_list_runs_pages_newest_first_with_filters(store):
    for index in range(5):
        await store.runs.create_run(make_run(f"r{index}", workflow="odd" if index % 2 else "even"))
    await store.runs.update_run("acme", run_pb2.Run(run_id="r4", state=RUNNING), ["state"], ())

    first = await list_runs(store, page_size=2)
    second = await list_runs(store, page_size=2, page_token=first.next_page_token)
    last = await list_runs(store, page_size=2, page_token=second.next_page_token)
    pages = [first, second, last]
    assert [[run.run_id for run in page.items] for page in pages] == [
        ["r4", "r3"],
        ["r2", "r1"],
        ["r0"],
    ]
    assert last.next_page_token == ""
    assert [r.run_id for r in (await list_runs(store, workflow="odd")).items] == ["r3", "r1"]
    assert [r.run_id for r in (await list_runs(store, state=RUNNING)).items] == ["r4"]


async def test_a_forged_page_token_is_invalid_argument(store):
    with pytest.raises(errors.InvalidArgument) as raised:
        await list_runs(store, page_token="not-a-token")
    assert raised.value.violations[0][0] == "page_token"


async def test_update_run_changes_only_masked_fields_and_stamps_end_time(store):
    await store.runs.create_run(make_run("r1"))
    patch = run_pb2.Run(run_id="r1", state=COMPLETED, trace_id="ignored", labels={"k": "v"})
    patch.output.update({"answer": 42})
    run = await store.runs.update_run("acme", patch, ["state", "output", "labels"], ())
    assert run.state == COMPLETED and run.output["answer"] == 42 and run.labels == {"k": "v"}
    assert run.trace_id == "" and run.input["question"] == "why?"
    assert (
        run.HasField("end_time")
        and run.update_time.ToNanoseconds() > run.create_time.ToNanoseconds()
    )
    # A masked field that is unset in the patch is cleared.
    cleared = await store.runs.update_run("acme", run_pb2.Run(run_id="r1"), ["output"], ())
    assert not cleared.HasField("output") and cleared.end_time == run.end_time


async def test_update_run_honours_expected_states(store):
    await store.runs.create_run(make_run("r1"))
    claim = run_pb2.Run(run_id="r1", state=RUNNING)
    await store.runs.update_run("acme", claim, ["state"], {run_pb2.RUN_STATE_QUEUED})
    with pytest.raises(errors.FailedPrecondition) as raised:
        await store.runs.update_run("acme", claim, ["state"], {run_pb2.RUN_STATE_QUEUED})
    assert raised.value.reason == "RUN_STATE_MISMATCH"


# Events and journal -----------------------------------------------------


async def test_append_assigns_sequences_and_journals_atomically(store):
    await store.runs.create_run(make_run("r1"))
    assert await append(store, "r1", started("a"), started("b")) == 2
    assert await append(store, "r1", started("c"), journal=[completed("a")], expected=2) == 3

    page = await store.runs.list_events("acme", "r1", after_sequence=1, limit=10)
    assert [(e.sequence, e.step_key, e.run_id) for e in page.events] == [
        (2, "b", "r1"),
        (3, "c", "r1"),
    ]
    assert page.events[0].HasField("time") and not page.run_ended and page.last_sequence == 3
    assert (await store.runs.get_run("acme", "r1")).last_event_sequence == 3
    [entry] = await store.runs.get_journal("acme", "r1")
    assert entry.step_key == "a" and entry.output.message.parts[0].text == "done"
    assert entry.HasField("complete_time")


async def test_append_with_a_stale_expected_sequence_is_aborted(store):
    await store.runs.create_run(make_run("r1"))
    await append(store, "r1", started())
    with pytest.raises(errors.Aborted) as raised:
        await append(store, "r1", started(), expected=0)
    assert raised.value.reason == "SEQUENCE_MISMATCH"
    assert raised.value.metadata == {"last_sequence": "1"}


@pytest.mark.parametrize(
    "journal", [["a"], ["b", "b"]], ids=["journaled-before", "twice-in-request"]
)
async def test_a_step_journaled_twice_writes_nothing(store, journal):
    await store.runs.create_run(make_run("r1"))
    await append(store, "r1", started("a"), journal=[completed("a")])
    with pytest.raises(errors.AlreadyExists) as raised:
        await append(store, "r1", started("x"), journal=[completed(key) for key in journal])
    assert raised.value.reason == "STEP_ALREADY_JOURNALED"
    assert (await store.runs.get_run("acme", "r1")).last_event_sequence == 1
    assert [entry.step_key for entry in await store.runs.get_journal("acme", "r1")] == ["a"]
    assert len((await store.runs.list_events("acme", "r1", after_sequence=0, limit=10)).events) == 1


async def test_append_for_a_lease_owner_needs_the_live_lease(store, clock):
    await store.runs.create_run(make_run("r1"))
    with pytest.raises(errors.FailedPrecondition) as raised:
        await append(store, "r1", started(), owner="router-a")
    assert raised.value.reason == "LEASE_NOT_HELD"
    epoch = (await store.leases.register_router("router-a", 30)).epoch
    await store.leases.claim_run("r1", "router-a", epoch)
    assert await append(store, "r1", started(), owner="router-a") == 1
    with pytest.raises(errors.FailedPrecondition):
        await append(store, "r1", started(), owner="router-b")
    clock.advance(31)  # router-a's lease lapsed: so did the run's
    with pytest.raises(errors.FailedPrecondition):
        await append(store, "r1", started(), owner="router-a")


async def test_concurrent_appends_keep_sequences_gap_free(store):
    await store.runs.create_run(make_run("r1"))
    lasts = await asyncio.gather(
        *(append(store, "r1", started(f"s{i}"), started(f"s{i}")) for i in range(60))
    )
    assert sorted(lasts) == list(range(2, 121, 2))
    events = (await store.runs.list_events("acme", "r1", after_sequence=0, limit=500)).events
    assert [event.sequence for event in events] == list(range(1, 121))
    # Each request's events stayed together, in order.
    assert all(events[i].step_key == events[i + 1].step_key for i in range(0, 120, 2))


async def test_a_refused_write_in_a_batch_leaves_the_others_committed(store):
    await store.runs.create_run(make_run("r1"))
    outcomes = await asyncio.gather(
        *(append(store, "r1", started(), expected=0) for _ in range(20)), return_exceptions=True
    )
    assert outcomes.count(1) == 1
    assert all(isinstance(o, errors.Aborted) for o in outcomes if o != 1)
    assert (await store.runs.get_run("acme", "r1")).last_event_sequence == 1


async def test_watch_streams_stored_then_live_events_and_ends_with_the_run(store):
    await store.runs.create_run(make_run("r1"))
    await append(store, "r1", started("a"), started("b"))
    seen = []

    async def follow():
        async for event in watch_events(store.runs, "acme", "r1", 1, recheck_seconds=30):
            seen.append(event.sequence)

    watcher = asyncio.create_task(follow())
    while len(seen) < 1:
        await asyncio.sleep(0.01)
    await append(store, "r1", started("c"))
    await store.runs.update_run("acme", run_pb2.Run(run_id="r1", state=COMPLETED), ["state"], ())
    await asyncio.wait_for(watcher, 10)
    assert seen == [2, 3]


async def test_a_cancelled_watch_unsubscribes(store):
    await store.runs.create_run(make_run("r1"))
    events = watch_events(store.runs, "acme", "r1", 0, recheck_seconds=30)
    waiting = asyncio.create_task(anext(events))
    await asyncio.sleep(0.05)
    assert store.runs._signals.watched_runs() == 1
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert store.runs._signals.watched_runs() == 0


# Workflows and agents ---------------------------------------------------


def workflow(name: str, steps: list[str], tenant: str = "acme") -> workflow_pb2.Workflow:
    return workflow_pb2.Workflow(
        workflow=name,
        tenant=tenant,
        spec=struct(steps=steps),
        pattern=workflow_pb2.PATTERN_SEQUENTIAL,
    )


async def test_put_workflow_versions_by_etag(store):
    first, created = await store.workflows.put_workflow(workflow("review", ["a"]))
    assert created and first.version == 1 and first.name == "workflows/review/versions/1"
    assert len(first.etag) == 64
    same, created = await store.workflows.put_workflow(workflow("review", ["a"]))
    assert not created and same == first
    second, created = await store.workflows.put_workflow(workflow("review", ["a", "b"]))
    assert created and second.version == 2
    assert await store.workflows.get_workflow("acme", "review", 0) == second
    assert await store.workflows.get_workflow("acme", "review", 1) == first
    with pytest.raises(errors.NotFound):
        await store.workflows.get_workflow("acme", "review", 3)
    with pytest.raises(errors.NotFound):
        await store.workflows.get_workflow("globex", "review", 1)


async def test_deleted_workflow_is_hidden_but_its_versions_stay_readable(store):
    await store.workflows.put_workflow(workflow("review", ["a"]))
    await store.workflows.put_workflow(workflow("triage", ["t"]))
    await store.workflows.delete_workflow("acme", "review")
    with pytest.raises(errors.NotFound):
        await store.workflows.get_workflow("acme", "review", 0)
    assert (await store.workflows.get_workflow("acme", "review", 1)).spec["steps"][0] == "a"
    listed = await store.workflows.list_workflows("acme", page_size=10, page_token="")
    assert [w.workflow for w in listed.items] == ["triage"]
    with pytest.raises(errors.NotFound):
        await store.workflows.delete_workflow("acme", "review")
    # Putting it again starts a new visible version; old numbers are never reused.
    again, created = await store.workflows.put_workflow(workflow("review", ["a"]))
    assert created and again.version == 2


async def test_list_workflows_pages_latest_versions_by_name(store):
    for name in ("c", "a", "b"):
        await store.workflows.put_workflow(workflow(name, ["x"]))
    await store.workflows.put_workflow(workflow("a", ["x", "y"]))
    first = await store.workflows.list_workflows("acme", page_size=2, page_token="")
    rest = await store.workflows.list_workflows(
        "acme", page_size=2, page_token=first.next_page_token
    )
    assert [(w.workflow, w.version) for w in first.items + rest.items] == [
        ("a", 2),
        ("b", 1),
        ("c", 1),
    ]
    assert rest.next_page_token == ""


async def test_agents_are_stored_replaced_listed_and_deleted(store):
    card = agent_pb2.AgentCard(name="writer", version="1.0")
    agent = agent_registry_pb2.Agent(agent="writer", tenant="acme", endpoint="h:1", card=card)
    stored = await store.agents.put_agent(agent)
    assert stored.name == "agents/writer" and stored.HasField("register_time")
    agent.endpoint = "h:2"
    await store.agents.put_agent(agent)
    await store.agents.put_agent(agent_registry_pb2.Agent(agent="critic", tenant="acme"))
    assert (await store.agents.get_agent("acme", "writer")).endpoint == "h:2"
    page = await store.agents.list_agents("acme", page_size=1, page_token="")
    rest = await store.agents.list_agents("acme", page_size=1, page_token=page.next_page_token)
    assert [a.agent for a in page.items + rest.items] == ["critic", "writer"]
    with pytest.raises(errors.NotFound):
        await store.agents.get_agent("globex", "writer")
    await store.agents.delete_agent("acme", "writer")
    with pytest.raises(errors.NotFound):
        await store.agents.delete_agent("acme", "writer")


# Approvals --------------------------------------------------------------


def approval(approval_id: str, *, run_id="r1", role="legal", expire=None) -> approval_pb2.Approval:
    result = approval_pb2.Approval(
        approval_id=approval_id,
        tenant="acme",
        run_id=run_id,
        required_role=role,
        requested_by="user:ann",
        payload=struct(amount=10),
    )
    if expire is not None:
        result.expire_time.FromSeconds(int(expire))
    return result


async def test_create_approval_is_idempotent_and_needs_its_run(store):
    with pytest.raises(errors.NotFound):
        await store.approvals.create_approval(approval("ap1"))
    await store.runs.create_run(make_run("r1"))
    stored = await store.approvals.create_approval(approval("ap1"))
    assert stored.state == approval_pb2.APPROVAL_STATE_PENDING and len(stored.payload_hash) == 64
    assert await store.approvals.create_approval(approval("ap1", role="other")) == stored
    with pytest.raises(errors.NotFound):
        await store.approvals.get_approval("globex", "ap1")


async def test_an_approval_is_decided_once(store):
    await store.runs.create_run(make_run("r1"))
    await store.approvals.create_approval(approval("ap1"))
    decision = Decision(
        outcome=run_pb2.APPROVAL_OUTCOME_EDITED,
        decided_by="user:bob",
        comment="lower",
        edited_payload=struct(amount=5),
    )
    decided = await store.approvals.decide_approval("acme", "ap1", decision)
    assert decided.state == approval_pb2.APPROVAL_STATE_DECIDED
    assert (decided.decided_by, decided.edited_payload["amount"]) == ("user:bob", 5)
    assert await store.approvals.get_approval("acme", "ap1") == decided
    with pytest.raises(errors.FailedPrecondition) as raised:
        await store.approvals.decide_approval("acme", "ap1", decision)
    assert raised.value.reason == "APPROVAL_ALREADY_DECIDED"


async def test_an_approval_past_its_deadline_can_only_expire(store, clock):
    await store.runs.create_run(make_run("r1"))
    await store.approvals.create_approval(approval("ap1", expire=clock() + 60))
    clock.advance(61)
    with pytest.raises(errors.FailedPrecondition) as raised:
        await store.approvals.decide_approval(
            "acme", "ap1", Decision(run_pb2.APPROVAL_OUTCOME_APPROVED, "user:bob")
        )
    assert raised.value.reason == "APPROVAL_EXPIRED"
    expired = await store.approvals.decide_approval(
        "acme", "ap1", Decision(run_pb2.APPROVAL_OUTCOME_EXPIRED, "service:router")
    )
    assert expired.state == approval_pb2.APPROVAL_STATE_EXPIRED


async def test_list_approvals_filters_oldest_first(store):
    await store.runs.create_run(make_run("r1"))
    await store.runs.create_run(make_run("r2"))
    for approval_id, run_id, role in [
        ("ap1", "r1", "legal"),
        ("ap2", "r2", "finance"),
        ("ap3", "r1", "ops"),
        ("ap4", "r1", "legal"),
    ]:
        await store.approvals.create_approval(approval(approval_id, run_id=run_id, role=role))
    await store.approvals.decide_approval(
        "acme", "ap4", Decision(run_pb2.APPROVAL_OUTCOME_REJECTED, "user:bob")
    )

    async def ids(*, state=0, roles=(), run_id="", page_size=10, page_token=""):
        page = await store.approvals.list_approvals(
            "acme",
            state=state,
            roles=roles,
            run_id=run_id,
            page_size=page_size,
            page_token=page_token,
        )
        return [a.approval_id for a in page.items], page.next_page_token

    assert (await ids())[0] == ["ap1", "ap2", "ap3", "ap4"]
    assert (await ids(state=approval_pb2.APPROVAL_STATE_PENDING))[0] == ["ap1", "ap2", "ap3"]
    assert (await ids(roles=["legal", "ops"]))[0] == ["ap1", "ap3", "ap4"]
    assert (await ids(run_id="r2"))[0] == ["ap2"]
    first, token = await ids(page_size=3)
    assert first == ["ap1", "ap2", "ap3"] and (await ids(page_token=token))[0] == ["ap4"]


# Shared memory ----------------------------------------------------------


async def put(store, key, text, *, expected=None, ttl=None, namespace="run/r1"):
    return await store.memory.put_memory(
        "acme", namespace, key, value(text), expected_version=expected, ttl_seconds=ttl
    )


async def test_memory_versions_and_compare_and_set(store):
    first = await put(store, "k", "a", expected=0)
    assert (first.version, first.value.string_value, first.namespace) == (1, "a", "run/r1")
    with pytest.raises(errors.Aborted) as raised:
        await put(store, "k", "b", expected=0)
    assert raised.value.reason == "VERSION_MISMATCH"
    with pytest.raises(errors.Aborted):
        await put(store, "k", "b", expected=7)
    assert (await put(store, "k", "b", expected=1)).version == 2
    assert (await put(store, "k", "c")).version == 3
    assert (await store.memory.get_memory("acme", "run/r1", "k")).value.string_value == "c"
    with pytest.raises(errors.NotFound):
        await store.memory.get_memory("globex", "run/r1", "k")
    with pytest.raises(errors.Aborted):
        await store.memory.delete_memory("acme", "run/r1", "k", expected_version=2)
    await store.memory.delete_memory("acme", "run/r1", "k", expected_version=3)
    with pytest.raises(errors.NotFound):
        await store.memory.delete_memory("acme", "run/r1", "k", expected_version=None)


async def test_expired_memory_behaves_as_absent(store, clock):
    written = await put(store, "k", "a", ttl=10)
    assert written.HasField("expire_time")
    clock.advance(11)
    with pytest.raises(errors.NotFound):
        await store.memory.get_memory("acme", "run/r1", "k")
    assert (
        await store.memory.list_memory("acme", "run/r1", key_prefix="", page_size=10, page_token="")
    ).items == []
    with pytest.raises(errors.Aborted):
        await put(store, "k", "b", expected=1)
    again = await put(store, "k", "b", expected=0)
    # The version keeps counting, so a compare-and-set from before the expiry fails.
    assert again.version == 2 and not again.HasField("expire_time")


async def test_concurrent_compare_and_set_has_one_winner_per_version(store):
    await put(store, "counter", "0", expected=0)
    for version in range(1, 4):
        outcomes = await asyncio.gather(
            *(put(store, "counter", f"w{i}", expected=version) for i in range(16)),
            return_exceptions=True,
        )
        winners = [o for o in outcomes if isinstance(o, state_pb2.MemoryEntry)]
        assert len(winners) == 1 and winners[0].version == version + 1
        assert all(isinstance(o, errors.Aborted) for o in outcomes if o not in winners)


async def test_list_memory_by_prefix_in_pages(store):
    for key in ("plan/b", "plan/a", "plan/c", "notes", "plan"):
        await put(store, key, key)
    await put(store, "plan/x", "other run", namespace="run/r2")
    first = await store.memory.list_memory(
        "acme", "run/r1", key_prefix="plan/", page_size=2, page_token=""
    )
    rest = await store.memory.list_memory(
        "acme", "run/r1", key_prefix="plan/", page_size=2, page_token=first.next_page_token
    )
    assert [e.key for e in first.items + rest.items] == ["plan/a", "plan/b", "plan/c"]
    assert rest.next_page_token == ""


# Durability -------------------------------------------------------------


async def test_reopening_the_database_keeps_everything(store, open_store, clock):
    await store.runs.create_run(make_run("r1"))
    await append(store, "r1", started("a"), journal=[completed("a")])
    await put(store, "k", "v")
    await store.workflows.put_workflow(workflow("review", ["a"]))
    await store.close()

    reopened = open_store(clock)
    try:
        assert (await reopened.runs.get_run("acme", "r1")).last_event_sequence == 1
        assert [e.step_key for e in await reopened.runs.get_journal("acme", "r1")] == ["a"]
        assert (await reopened.memory.get_memory("acme", "run/r1", "k")).version == 1
        assert (await reopened.workflows.get_workflow("acme", "review", 0)).version == 1
        assert await append(reopened, "r1", started("b")) == 2
    finally:
        await reopened.close()


async def test_a_closed_store_refuses_writes(store):
    await store.close()
    with pytest.raises(errors.Unavailable):
        await store.runs.create_run(make_run("r1"))


async def test_a_page_of_large_runs_ends_before_it_outgrows_a_grpc_message(store):
    for number in range(8):
        run = make_run(f"r{number}")
        run.input.update({"text": "x" * 600_000})
        await store.runs.create_run(run)
    seen, token, pages = [], "", 0
    while True:
        page = await list_runs(store, page_size=50, page_token=token)
        assert sum(run.ByteSize() for run in page.items) < 4 * 1024 * 1024
        seen += [run.run_id for run in page.items]
        pages, token = pages + 1, page.next_page_token
        if not token:
            break
    assert sorted(seen) == [f"r{number}" for number in range(8)] and pages > 1
