"""The local event feed: watchers of a run this router executes get its events from the
router itself, and switch to the state service's stream, from their last event, whenever
the feed cannot vouch for what follows (see airspace.router.local_events)."""

from __future__ import annotations

import asyncio

import pytest
from harness import TENANT, Router, answers, final

from airspace.agent.v1 import agent_pb2
from airspace.mesh import errors
from airspace.router import local_events
from airspace.router.agent_invoker import OnAction
from airspace.router.local_events import LocalEvents, LocalWatch
from airspace.router.run_log import event
from airspace.router.settings import RouterSettings
from airspace.v1 import run_pb2

pytestmark = pytest.mark.unit

SEQUENTIAL = """
name: chain
pattern: sequential
steps:
  - {name: first, agent: alpha}
  - {name: second, agent: beta}
"""
GATED = """
name: gated
pattern: sequential
steps: [{name: only, agent: alpha, approval: {after: true, role: approver}}]
"""


def started(text: str) -> run_pb2.RunEvent:
    return event("s0001-only", step_started=run_pb2.StepStarted(step_name=text))


def ended(to: run_pb2.RunState = run_pb2.RUN_STATE_COMPLETED) -> run_pb2.RunEvent:
    return event(run_state_changed=run_pb2.RunStateChanged(to=to))


async def drained(watch: LocalWatch) -> list[int]:
    return [run_event.sequence async for run_event in watch]


def subscribed(feed: LocalEvents, after_sequence: int = 0) -> LocalWatch:
    watch = feed.subscribe("r1", after_sequence)
    assert watch is not None
    return watch


async def test_watchers_get_acknowledged_events_in_order_after_their_cursor():
    feed = LocalEvents(quiet_seconds=5.0)
    feed.open("r1", 0)
    feed.publish("r1", [started("a"), started("b"), started("c")], last_sequence=3)
    late = subscribed(feed, after_sequence=1)
    feed.publish("r1", [started("d"), ended()], last_sequence=5)
    assert await drained(late) == [2, 3, 4, 5]
    assert late.ended, "the run's end ends the watch: nothing follows it"
    assert feed.subscribe("r1", 5) is None, "an ended run is not executing here"


async def test_a_feed_serves_only_cursors_it_can_continue_from():
    feed = LocalEvents(quiet_seconds=5.0)
    assert feed.subscribe("r1", 0) is None, "a run not executing here"
    feed.open("r1", 10)
    assert feed.subscribe("r1", 11) is None, "a cursor ahead of what this router knows"
    assert feed.subscribe("r1", 9) is None, "events before the feed opened"
    feed.publish("r1", [started(str(n)) for n in range(local_events.RECENT_EVENTS + 1)], 75)
    assert feed.subscribe("r1", 10) is None, "older than the recent events kept"
    assert feed.subscribe("r1", 11) is not None


async def test_a_watcher_that_falls_behind_keeps_what_it_was_given_and_leaves():
    feed = LocalEvents(quiet_seconds=5.0)
    feed.open("r1", 0)
    slow = subscribed(feed)
    total = local_events.BUFFERED_EVENTS + 3
    feed.publish("r1", [started(str(n)) for n in range(total)], last_sequence=total)
    assert await drained(slow) == list(range(1, local_events.BUFFERED_EVENTS + 1))
    assert not slow.ended and slow.last_sequence == local_events.BUFFERED_EVENTS


async def test_an_append_after_events_the_feed_never_saw_sends_its_watchers_on():
    feed = LocalEvents(quiet_seconds=5.0)
    feed.open("r1", 0)
    watching = subscribed(feed)
    feed.publish("r1", [started("ours")], last_sequence=1)
    feed.publish("r1", [started("after another writer's")], last_sequence=3)
    assert await drained(watching) == [1]
    assert not watching.ended and watching.last_sequence == 1
    assert feed.subscribe("r1", 1) is None, "sequence 2 is not known here"
    later = subscribed(feed, 2)
    feed.close("r1")
    assert await drained(later) == [3], "a watcher past the gap is served"


async def test_a_run_that_stops_executing_here_sends_its_watchers_on_after_its_last_event():
    feed = LocalEvents(quiet_seconds=5.0)
    feed.open("r1", 0)
    watching = subscribed(feed)
    feed.publish("r1", [started("a")], last_sequence=1)
    feed.close("r1")
    assert await drained(watching) == [1] and not watching.ended


async def follow(router: Router, run: run_pb2.Run) -> tuple[list[run_pb2.RunEvent], str]:
    """The events a watcher of the run from its start sees, and how its stream ended."""
    seen: list[run_pb2.RunEvent] = []
    try:
        async for run_event in router.runs.follow(run, 0):
            seen.append(run_event)
    except errors.MeshError as exc:
        return seen, type(exc).__name__
    return seen, "OK"


def held_until(release: asyncio.Event):
    async def behaviour(start: agent_pb2.InvokeStart, act: OnAction) -> agent_pb2.InvokeEvent:
        await release.wait()
        return final("late")

    return behaviour


async def watched_while_waiting(
    router: Router, release: asyncio.Event
) -> tuple[run_pb2.Run, asyncio.Task[tuple[list[run_pb2.RunEvent], str]]]:
    """A run whose second step's agent works until `release` is set, and its watcher."""
    await router.register("alpha", answers("a"))
    await router.register("beta", held_until(release))
    run = await router.start(await router.workflow(SEQUENTIAL))
    while len(router.agents.calls) < 2:
        await asyncio.sleep(0.01)
    return run, asyncio.create_task(follow(router, run))


async def cancel(canceler: Router, run: run_pb2.Run) -> None:
    """Cancels the run as `canceler` would for a CancelRun it was sent."""
    current = await canceler.repositories.runs.get(TENANT, run.run_id)
    await canceler.executor.cancel(current, "not needed", "user:alice")


async def test_a_run_followed_from_its_start_is_served_by_the_router_executing_it(router):
    await router.register("alpha", answers("a"))
    await router.register("beta", answers("b"))
    run = await router.start(await router.workflow(SEQUENTIAL))
    seen, outcome = await follow(router, run)
    assert outcome == "OK"
    assert seen == await router.events(run)
    assert router.repositories.runs.watches == 0


async def test_a_watcher_that_overflowed_goes_on_from_the_state_service(router, monkeypatch):
    monkeypatch.setattr(local_events, "BUFFERED_EVENTS", 2)
    await router.register("alpha", answers("a"))
    await router.register("beta", answers("b"))
    run = await router.start(await router.workflow(SEQUENTIAL))
    stream = router.runs.follow(run, 0)
    seen = [await anext(stream)]
    await router.settled(run)  # the watcher reads nothing meanwhile
    seen += [run_event async for run_event in stream]
    assert seen == await router.events(run), "no gap, no duplicate"
    assert router.repositories.runs.watches == 1


async def test_a_cancel_from_another_replica_reaches_the_watcher_when_this_router_notices(
    router,
):
    release = asyncio.Event()
    run, watching = await watched_while_waiting(router, release)
    replica = router.replica("router-2")
    await cancel(replica, run)
    release.set()  # router-1's next append is refused: the run ended
    seen, outcome = await watching
    assert outcome == "Cancelled"
    assert seen == await router.events(run)
    assert seen[-1].run_state_changed.to == run_pb2.RUN_STATE_CANCELED
    await router.settled(run)
    await replica.close()


@pytest.fixture
async def impatient():
    """A router whose watchers ask the state service after 10 ms without an event."""
    started = Router(watch_quiet_seconds=0.01)
    yield started
    await started.close()


async def test_a_cancel_from_another_replica_reaches_the_watcher_of_a_run_gone_quiet(impatient):
    router = impatient
    release = asyncio.Event()
    run, watching = await watched_while_waiting(router, release)
    replica = router.replica("router-2")
    await cancel(replica, run)
    seen, outcome = await watching  # while the agent still works
    assert outcome == "Cancelled"
    assert seen == await router.events(run)
    release.set()
    await router.settled(run)
    await replica.close()


async def test_a_cancel_on_the_router_executing_the_run_is_served_by_it(router):
    release = asyncio.Event()
    run, watching = await watched_while_waiting(router, release)
    await cancel(router, run)
    seen, outcome = await watching
    assert outcome == "Cancelled"
    assert seen == await router.events(run)
    assert router.repositories.runs.watches == 0


async def test_a_run_paused_for_approval_is_followed_through_the_state_service(router):
    await router.register("alpha", answers("a"))
    run = await router.start(await router.workflow(GATED))
    watching = asyncio.create_task(follow(router, run))
    await router.settled(run)
    [approval] = await router.approvals()
    await router.decide(approval.approval_id, run_pb2.APPROVAL_OUTCOME_APPROVED)
    seen, outcome = await watching
    assert outcome == "OK"
    assert seen == await router.events(run)
    states = [e.run_state_changed.to for e in seen if e.HasField("run_state_changed")]
    assert run_pb2.RUN_STATE_WAITING_APPROVAL in states
    assert router.repositories.runs.watches == 1


async def test_a_run_taken_over_by_another_router_is_followed_to_its_end(router):
    release = asyncio.Event()
    run, watching = await watched_while_waiting(router, release)
    router.repositories.leases.expire("router-1")  # router-1 stalls past its lease
    replica = router.replica("router-2")
    replica.executor.launch(await router.repositories.runs.get(TENANT, run.run_id))
    while len(router.agents.calls) < 3:  # router-2 invokes the step in flight again
        await asyncio.sleep(0.01)
    release.set()
    seen, outcome = await watching
    assert outcome == "OK"
    assert seen == await router.events(run)
    assert any(e.HasField("lease_taken_over") for e in seen)
    await router.settled(run)
    await replica.close()


def test_a_quiet_time_that_is_not_positive_is_refused_naming_the_setting():
    with pytest.raises(errors.InvalidArgument, match="watch_quiet_seconds") as refused:
        RouterSettings(mesh_key=b"k" * 32, watch_quiet_seconds=0)
    assert [field for field, _ in refused.value.violations] == ["watch_quiet_seconds"]
