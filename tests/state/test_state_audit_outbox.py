"""The audit outbox on every store implementation (STORE_FACTORIES): records land with the
append or the creation that carries them, or not at all; each is kept under the writing
router, which claims and removes them; a router whose lease lapsed leaves its records to
the next one that claims, and its lease is settled only once none is left."""

from __future__ import annotations

import grpc
import pytest
from state_helpers import expect_error, make_run, started

from airspace.mesh import errors
from airspace.policy.v1 import policy_pb2
from airspace.state.store.leases import RunClaim
from airspace.state.v1 import state_pb2

pytestmark = pytest.mark.unit

TTL = 2.0


def record(record_id: str, run_id: str = "r1") -> policy_pb2.AuditRecord:
    message = policy_pb2.AuditRecord(
        kind="policy.decision",
        tenant="acme",
        principal="agent:writer",
        run_id=run_id,
        decision_id=f"d-{record_id}",
        record_id=record_id,
    )
    message.details.update({"checkpoint": "step.input", "verdict": "ALLOW"})
    return message


async def leased_run(store, router: str, run_id: str = "r1") -> tuple[int, int]:
    """A run created and leased to `router` in its creation: (epoch, fencing token)."""
    epoch = (await store.leases.register_router(router, TTL)).epoch
    created = await store.runs.create_run(make_run(run_id), claim=RunClaim(router, epoch))
    return epoch, created.fencing_token


async def append(store, owner: str, token: int, *records, expected: int | None = None):
    return await store.runs.append_events(
        "acme",
        "r1",
        [started()],
        [],
        expected_last_sequence=expected,
        lease_owner=owner,
        lease_token=token,
        audit_records=records,
    )


async def test_records_land_with_their_append_and_are_claimed_then_removed(store):
    epoch, token = await leased_run(store, "router-a")
    await append(store, "router-a", token, record("e1"), record("e2"))
    claimed = await store.audit_outbox.claim("router-a", epoch, 512)
    assert claimed == [record("e1"), record("e2")]
    assert await store.audit_outbox.remove(["e1", "e2", "unknown"]) == 2
    assert await store.audit_outbox.claim("router-a", epoch, 512) == []


async def test_a_refused_append_stores_none_of_its_records(store):
    epoch, token = await leased_run(store, "router-a")
    with pytest.raises(errors.Aborted):
        await append(store, "router-a", token, record("e1"), expected=7)
    with pytest.raises(errors.FailedPrecondition):
        await append(store, "router-b", token, record("e2"))
    assert await store.audit_outbox.claim("router-a", epoch, 512) == []


async def test_a_creation_stores_its_records_once_a_repeated_request_none(store):
    epoch = (await store.leases.register_router("router-a", TTL)).epoch
    claim = RunClaim("router-a", epoch)
    await store.runs.create_run(make_run("r1"), claim=claim, audit_records=[record("c1")])
    again = await store.runs.create_run(make_run("r1"), claim=claim, audit_records=[record("c2")])
    assert not again.created
    assert await store.audit_outbox.claim("router-a", epoch, 512) == [record("c1")]


async def test_a_lapsed_routers_records_pass_to_the_next_claim_and_then_its_lease_settles(
    store, clock
):
    _, token = await leased_run(store, "router-a")
    await append(store, "router-a", token, record("e1"), record("e2"))
    survivor = (await store.leases.register_router("router-b", 60.0)).epoch
    # router-a still live: its records stay its own.
    assert await store.audit_outbox.claim("router-b", survivor, 512) == []
    clock.advance(TTL)
    assert (await store.leases.renew_router_lease("router-b", survivor, 60.0)).takeover_pending
    await store.leases.claim_runs("router-b", survivor, 100, 0.0)  # takes the run over
    # The run is taken, its records not yet: the takeover is still pending.
    assert (await store.leases.renew_router_lease("router-b", survivor, 60.0)).takeover_pending
    # A page at a time, oldest first; all of them moved to the claiming router.
    assert await store.audit_outbox.claim("router-b", survivor, 1) == [record("e1")]
    assert not (await store.leases.renew_router_lease("router-b", survivor, 60.0)).takeover_pending
    assert await store.audit_outbox.claim("router-b", survivor, 512) == [record("e1"), record("e2")]


async def test_a_claim_needs_the_routers_live_lease(store, clock):
    epoch = (await store.leases.register_router("router-a", TTL)).epoch
    clock.advance(TTL)
    with pytest.raises(errors.FailedPrecondition) as refused:
        await store.audit_outbox.claim("router-a", epoch, 512)
    assert refused.value.reason == "LEASE_NOT_HELD"


async def test_the_service_refuses_records_it_cannot_keep(stub):
    token_record = record("t1")
    token_record.tokens.add(token="tok_1", entity="EMAIL", value="ann@example.com")
    for bad, field in (
        (record(""), "audit_records[0].record_id"),
        (record("x" * 65), "audit_records[0].record_id"),
        (token_record, "audit_records[0].tokens"),
    ):
        request = state_pb2.AppendEventsRequest(
            tenant="acme", run_id="r1", events=[started()], audit_records=[bad]
        )
        await expect_error(
            stub.AppendEvents(request), grpc.StatusCode.INVALID_ARGUMENT, field=field
        )
    twice = state_pb2.AppendEventsRequest(
        tenant="acme", run_id="r1", events=[started()], audit_records=[record("a"), record("a")]
    )
    await expect_error(
        stub.AppendEvents(twice),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="audit_records[1].record_id",
    )
