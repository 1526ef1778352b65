"""The lease rules every store follows (airspace.state.rules.leases), as pure logic."""

from __future__ import annotations

import pytest
from state_helpers import make_run

from airspace.state.rules.leases import Grant, HeldLease, grant, next_epoch, takeovers

pytestmark = pytest.mark.unit


def test_a_run_never_leased_gets_its_first_token():
    assert grant(None, "router-a") == Grant(1, "")


def test_a_run_held_live_by_another_router_is_refused():
    assert grant(HeldLease("router-a", 3, live=True), "router-b") is None


def test_a_run_held_live_by_the_asking_router_keeps_its_token():
    assert grant(HeldLease("router-a", 3, live=True), "router-a") == Grant(3, "")


def test_a_lapsed_lease_moves_with_a_raised_token_naming_the_previous_owner():
    assert grant(HeldLease("router-a", 3, live=False), "router-b") == Grant(4, "router-a")


def test_a_released_or_own_lapsed_lease_moves_without_a_previous_owner():
    assert grant(HeldLease("", 3, live=False), "router-b") == Grant(4, "")
    # Its own lease from an earlier epoch: the token still rises, so the writes made
    # under the earlier grant stay refused.
    assert grant(HeldLease("router-a", 3, live=False), "router-a") == Grant(4, "")


def test_epochs_rise_from_one():
    assert [next_epoch(None), next_epoch(1), next_epoch(7)] == [1, 2, 8]


def test_a_claim_of_runs_grants_each_the_token_after_its_last():
    never, lapsed = make_run("never"), make_run("lapsed")
    rows = [
        (never.SerializeToString(), 0, None, "acme", None, None),
        (lapsed.SerializeToString(), 9, None, "acme", "router-a", 5),
    ]
    claimed = [
        (c.run.run_id, c.run.last_event_sequence, c.token, c.previous_owner, first)
        for c, first in takeovers(rows, "router-b", {})
    ]
    assert claimed == [("never", 0, 1, "", True), ("lapsed", 9, 6, "router-a", False)]
