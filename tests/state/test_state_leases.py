"""Router leases and the run leases held under them, on every store implementation
(STORE_FACTORIES): one renewal keeps all of a router's runs, a lapsed router's runs are
claimable at once, a write under a grant the run has moved on from is refused, a run may
be claimed in its creation, and the append that ends a run frees its lease."""

from __future__ import annotations

import pytest
from state_helpers import make_run, started

from airspace.mesh import errors
from airspace.state.store.leases import RunClaim
from airspace.state.store.runs import RunChange
from airspace.v1 import run_pb2

pytestmark = pytest.mark.unit

TTL = 2.0
RUNNING, COMPLETED = run_pb2.RUN_STATE_RUNNING, run_pb2.RUN_STATE_COMPLETED
WAITING = run_pb2.RUN_STATE_WAITING_APPROVAL


async def register(store, router: str) -> int:
    return (await store.leases.register_router(router, TTL)).epoch


async def append_as(
    store, run_id: str, owner: str, token: int, to: run_pb2.RunState | None = None
) -> int:
    """Appends an event as `owner` under the grant `token`, changing the run's state to
    `to` with it when given."""
    change = RunChange(run_pb2.Run(run_id=run_id, state=to), ["state"]) if to else None
    appended = await store.runs.append_events(
        "acme",
        run_id,
        [started()],
        [],
        expected_last_sequence=None,
        lease_owner=owner,
        lease_token=token,
        change=change,
    )
    return appended.last_sequence


async def refused(call) -> str:
    with pytest.raises(errors.FailedPrecondition) as raised:
        await call
    return raised.value.reason


async def test_each_registration_starts_a_new_epoch_and_only_a_live_one_renews(store, clock):
    first = await store.leases.register_router("router-a", TTL)
    renewed = await store.leases.renew_router_lease("router-a", first.epoch, TTL)
    assert renewed.expire_time.ToMicroseconds() > first.expire_time.ToMicroseconds()
    assert not renewed.takeover_pending
    second = await register(store, "router-a")
    assert second == first.epoch + 1
    # The earlier epoch is over, even though the router id's lease is live.
    assert await refused(store.leases.renew_router_lease("router-a", first.epoch, TTL)) == (
        "LEASE_NOT_HELD"
    )
    clock.advance(TTL)
    # Lapsed: it cannot be renewed, only registered again.
    assert await refused(store.leases.renew_router_lease("router-a", second, TTL)) == (
        "LEASE_NOT_HELD"
    )
    assert await register(store, "router-a") == second + 1


async def test_one_renewal_keeps_every_run_of_the_router(store, clock):
    epoch = await register(store, "router-a")
    tokens = {}
    for index in range(20):
        await store.runs.create_run(make_run(f"r{index}"))
        tokens[f"r{index}"] = (await store.leases.claim_run(f"r{index}", "router-a", epoch)).token
    for _ in range(3):  # three lease lifetimes, kept by renewals alone
        clock.advance(TTL * 0.75)
        await store.leases.renew_router_lease("router-a", epoch, TTL)
        clock.advance(TTL * 0.75)
        await store.leases.renew_router_lease("router-a", epoch, TTL)
    for run_id, token in tokens.items():
        assert await append_as(store, run_id, "router-a", token) == 1
    epoch_b = await register(store, "router-b")
    assert await store.leases.claim_runs("router-b", epoch_b, 100, min_age_seconds=0) == []


async def test_the_runs_of_a_lapsed_router_are_claimed_with_a_new_token(store, clock):
    for run_id in ("r1", "r2", "r3", "done"):
        await store.runs.create_run(make_run(run_id))
    epoch_a = await register(store, "router-a")
    held = {
        run_id: await store.leases.claim_run(run_id, "router-a", epoch_a)
        for run_id in ("r1", "r2", "done")
    }
    await store.runs.update_run("acme", run_pb2.Run(run_id="done", state=COMPLETED), ["state"], ())
    clock.advance(1)
    epoch_b = await register(store, "router-b")
    assert not (await store.leases.renew_router_lease("router-b", epoch_b, TTL)).takeover_pending
    clock.advance(TTL)  # router-a stops renewing; router-b does not
    assert await refused(store.leases.claim_run("r1", "router-b", epoch_b)) == "LEASE_NOT_HELD"
    epoch_b = await register(store, "router-b")
    # router-b's renewal is told that router-a's runs wait.
    clock.advance(0.1)
    assert (await store.leases.renew_router_lease("router-b", epoch_b, TTL)).takeover_pending

    claimed = await store.leases.claim_runs("router-b", epoch_b, 100, min_age_seconds=0)
    # Oldest first; the finished run is not claimed; r3 was never leased.
    assert [(c.run.run_id, c.token, c.previous_owner) for c in claimed] == [
        ("r1", held["r1"].token + 1, "router-a"),
        ("r2", held["r2"].token + 1, "router-a"),
        ("r3", 1, ""),
    ]
    # Nothing of router-a's is left to take over.
    renewal = await store.leases.renew_router_lease("router-b", epoch_b, TTL)
    assert not renewal.takeover_pending
    assert await store.leases.claim_runs("router-b", epoch_b, 100, min_age_seconds=0) == []


async def test_a_stale_token_is_refused_after_a_takeover_even_once_the_router_is_back(store, clock):
    await store.runs.create_run(make_run("r1"))
    epoch_a = await register(store, "router-a")
    stale = await store.leases.claim_run("r1", "router-a", epoch_a)
    assert await append_as(store, "r1", "router-a", stale.token) == 1
    clock.advance(TTL)  # router-a is paused past its lease
    epoch_b = await register(store, "router-b")
    [taken] = await store.leases.claim_runs("router-b", epoch_b, 10, min_age_seconds=0)
    assert (taken.token, taken.previous_owner) == (stale.token + 1, "router-a")
    assert await refused(append_as(store, "r1", "router-a", stale.token)) == "LEASE_NOT_HELD"
    # router-a comes back and registers again: its old grant stays refused, and the run
    # stays router-b's.
    epoch_a = await register(store, "router-a")
    assert await refused(append_as(store, "r1", "router-a", stale.token)) == "LEASE_NOT_HELD"
    assert not (await store.leases.claim_run("r1", "router-a", epoch_a)).acquired
    assert await append_as(store, "r1", "router-b", taken.token) == 2


async def test_registering_again_frees_the_runs_of_the_earlier_epoch(store, clock):
    await store.runs.create_run(make_run("r1"))
    first = await register(store, "router-a")
    old = await store.leases.claim_run("r1", "router-a", first)
    second = await register(store, "router-a")  # the same id, restarted
    assert await refused(append_as(store, "r1", "router-a", old.token)) == "LEASE_NOT_HELD"
    assert await refused(store.leases.claim_run("r1", "router-a", first)) == "LEASE_NOT_HELD"
    again = await store.leases.claim_run("r1", "router-a", second)
    assert (again.acquired, again.token, again.previous_owner) == (True, old.token + 1, "")


async def test_a_run_held_live_is_not_claimed_and_a_release_needs_the_current_grant(store, clock):
    await store.runs.create_run(make_run("r1"))
    with pytest.raises(errors.NotFound):
        await store.leases.claim_run("nope", "router-a", await register(store, "router-a"))
    epoch_a = await register(store, "router-a")
    epoch_b = await register(store, "router-b")
    held = await store.leases.claim_run("r1", "router-a", epoch_a)
    assert (held.acquired, held.token) == (True, 1)
    assert (await store.leases.claim_run("r1", "router-a", epoch_a)).token == 1  # its own
    taken = await store.leases.claim_run("r1", "router-b", epoch_b)
    assert (taken.acquired, taken.owner, taken.token) == (False, "router-a", 1)
    await store.leases.release_lease("r1", "router-a", token=7)  # another grant: no-op
    assert not (await store.leases.claim_run("r1", "router-b", epoch_b)).acquired
    await store.leases.release_lease("r1", "router-a", token=held.token)
    moved = await store.leases.claim_run("r1", "router-b", epoch_b)
    assert (moved.acquired, moved.token, moved.previous_owner) == (True, 2, "")


async def test_a_deregistered_router_is_taken_over_at_once(store, clock):
    await store.runs.create_run(make_run("r1"))
    await store.runs.update_run("acme", run_pb2.Run(run_id="r1", state=RUNNING), ["state"], ())
    epoch_a = await register(store, "router-a")
    epoch_b = await register(store, "router-b")
    await store.leases.claim_run("r1", "router-a", epoch_a)
    await store.leases.deregister_router("router-a", epoch_a - 1)  # an earlier epoch: no-op
    assert await store.leases.claim_runs("router-b", epoch_b, 10, min_age_seconds=0) == []
    await store.leases.deregister_router("router-a", epoch_a)
    assert (await store.leases.renew_router_lease("router-b", epoch_b, TTL)).takeover_pending
    [claimed] = await store.leases.claim_runs("router-b", epoch_b, 10, min_age_seconds=0)
    assert (claimed.run.run_id, claimed.previous_owner) == ("r1", "router-a")


async def test_a_new_unleased_run_is_claimable_only_after_its_creator_had_time(store, clock):
    await store.runs.create_run(make_run("new"))
    epoch = await register(store, "router-b")
    assert await store.leases.claim_runs("router-b", epoch, 10, min_age_seconds=1) == []
    clock.advance(1)
    [claimed] = await store.leases.claim_runs("router-b", epoch, 10, min_age_seconds=1)
    assert (claimed.run.run_id, claimed.token, claimed.previous_owner) == ("new", 1, "")


async def test_claims_take_the_oldest_first_up_to_the_limit(store, clock):
    for run_id in ("r1", "r2", "r3"):
        await store.runs.create_run(make_run(run_id, tenant="acme" if run_id != "r2" else "globex"))
    epoch = await register(store, "router-a")
    first = await store.leases.claim_runs("router-a", epoch, 2, min_age_seconds=0)
    rest = await store.leases.claim_runs("router-a", epoch, 2, min_age_seconds=0)
    assert [c.run.run_id for c in first] == ["r1", "r2"]
    assert [c.run.run_id for c in rest] == ["r3"]


async def test_a_run_claimed_in_its_creation_is_leased_in_the_same_write(store, clock):
    epoch_a, epoch_b = await register(store, "router-a"), await register(store, "router-b")
    created = await store.runs.create_run(make_run("r1"), claim=RunClaim("router-a", epoch_a))
    assert (created.created, created.fencing_token) == (True, 1)
    assert not (await store.leases.claim_run("r1", "router-b", epoch_b)).acquired
    assert await store.leases.claim_runs("router-b", epoch_b, 10, min_age_seconds=0) == []
    assert await append_as(store, "r1", "router-a", created.fencing_token) == 1
    # ClaimRun of the router holding it finds the grant it has: nothing changes.
    assert (await store.leases.claim_run("r1", "router-a", epoch_a)).token == 1


async def test_a_repeated_creation_gets_only_the_grant_its_router_holds(store, clock):
    epoch_a, epoch_b = await register(store, "router-a"), await register(store, "router-b")
    first = await store.runs.create_run(make_run("r1"), claim=RunClaim("router-a", epoch_a))
    retry = make_run("r1-retry")
    retry.request_id = "req-r1"
    # The first reply lost: the same router is told the grant it holds, not a new one.
    again = await store.runs.create_run(retry, claim=RunClaim("router-a", epoch_a))
    assert (again.created, again.run.run_id, again.fencing_token) == (False, "r1", 1)
    # Another router repeating the request gets the run, not its lease.
    other = await store.runs.create_run(retry, claim=RunClaim("router-b", epoch_b))
    assert (other.created, other.fencing_token) == (False, 0)
    await append_as(store, "r1", "router-a", first.fencing_token, to=WAITING)
    await store.leases.release_lease("r1", "router-a", first.fencing_token)
    # Released (waiting for a person): a repeated request grants nothing.
    assert (
        await store.runs.create_run(retry, claim=RunClaim("router-a", epoch_a))
    ).fencing_token == 0
    # A run created unclaimed is not claimed by a repeat of its request either.
    await store.runs.create_run(make_run("r2"))
    retry_r2 = make_run("r2-retry")
    retry_r2.request_id = "req-r2"
    assert (
        await store.runs.create_run(retry_r2, claim=RunClaim("router-a", epoch_a))
    ).fencing_token == 0


async def test_a_claim_under_a_lapsed_router_lease_creates_the_run_unleased(store, clock):
    epoch_a = await register(store, "router-a")
    clock.advance(TTL)
    created = await store.runs.create_run(make_run("r1"), claim=RunClaim("router-a", epoch_a))
    assert (created.created, created.fencing_token) == (True, 0)
    stale = await store.runs.create_run(make_run("r2"), claim=RunClaim("router-a", epoch_a - 1))
    assert stale.fencing_token == 0
    epoch_b = await register(store, "router-b")
    claimed = await store.leases.claim_runs("router-b", epoch_b, 10, min_age_seconds=0)
    assert [(c.run.run_id, c.token) for c in claimed] == [("r1", 1), ("r2", 1)]


async def test_the_append_that_ends_a_run_frees_its_lease(store, clock):
    epoch_a, epoch_b = await register(store, "router-a"), await register(store, "router-b")
    for run_id in ("done", "going"):
        await store.runs.create_run(make_run(run_id), claim=RunClaim("router-a", epoch_a))
    assert await append_as(store, "done", "router-a", 1, to=RUNNING) == 1
    # A change that does not end the run keeps the lease.
    assert not (await store.leases.claim_run("done", "router-b", epoch_b)).acquired
    assert await append_as(store, "done", "router-a", 1, to=COMPLETED) == 2
    assert await append_as(store, "going", "router-a", 1) == 1
    # Freed, not lapsed: no takeover, and router-a's other run stays its own.
    freed = await store.leases.claim_run("done", "router-b", epoch_b)
    assert (freed.acquired, freed.token, freed.previous_owner) == (True, 2, "")
    assert not (await store.leases.claim_run("going", "router-b", epoch_b)).acquired
    # The ended run's old grant stays refused.
    assert await refused(append_as(store, "done", "router-a", 1)) == "LEASE_NOT_HELD"


async def test_a_creation_grant_is_fenced_off_once_the_run_is_taken_over(store, clock):
    epoch_a = await register(store, "router-a")
    created = await store.runs.create_run(make_run("r1"), claim=RunClaim("router-a", epoch_a))
    clock.advance(TTL)  # router-a stalls past its lease
    epoch_b = await register(store, "router-b")
    [taken] = await store.leases.claim_runs("router-b", epoch_b, 10, min_age_seconds=0)
    assert (taken.token, taken.previous_owner) == (created.fencing_token + 1, "router-a")
    await register(store, "router-a")
    assert await refused(append_as(store, "r1", "router-a", created.fencing_token)) == (
        "LEASE_NOT_HELD"
    )
    assert await append_as(store, "r1", "router-b", taken.token, to=COMPLETED) == 1
