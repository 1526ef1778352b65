"""Verified mesh identities are remembered until their token expires, never longer, and
only for the key that verified them."""

from __future__ import annotations

import secrets
import time

import pytest

from airspace.mesh import errors, identity

pytestmark = pytest.mark.unit

KEY = secrets.token_bytes(32)
WHO = identity.Identity(principal="user:alice", tenant="acme", roles=("operator",))


@pytest.fixture
def decodes(monkeypatch) -> list[str]:
    """Counts the signature checks verify makes."""
    seen: list[str] = []
    decode = identity.jwt.decode

    def counting(token, *args, **kwargs):
        seen.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(identity.jwt, "decode", counting)
    return seen


def test_a_repeated_token_is_checked_once(decodes):
    token = identity.sign(WHO, KEY)
    assert identity.verify(token, KEY) == WHO
    assert identity.verify(token, KEY) == WHO
    assert len(decodes) == 1


def test_a_remembered_token_is_checked_again_once_it_expired(decodes, monkeypatch):
    token = identity.sign(WHO, KEY, ttl=60)
    identity.verify(token, KEY)
    later = time.time() + 120
    monkeypatch.setattr(identity.time, "time", lambda: later)
    identity.verify(token, KEY)  # the signature check decides again (with its own clock)
    assert len(decodes) == 2


def test_a_token_remembered_under_one_key_is_refused_under_another():
    token = identity.sign(WHO, KEY)
    identity.verify(token, KEY)
    with pytest.raises(errors.Unauthenticated):
        identity.verify(token, secrets.token_bytes(32))


def test_the_cache_stays_bounded(monkeypatch):
    monkeypatch.setattr(identity, "VERIFIED_CACHE_SIZE", 3)
    for n in range(5):
        identity.verify(identity.sign(WHO, KEY, ttl=60 + n), KEY)
    assert len(identity._verified) <= 3
