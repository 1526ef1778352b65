"""The gateway's call admission: a tenant over its rate and a gateway at its limit of calls
in flight are refused at once with RetryInfo and QuotaFailure; a finished call frees its
place; unary calls and streams are counted apart."""

from __future__ import annotations

import pytest
from google.rpc import error_details_pb2

from airspace.gateway.admission import CallAdmission
from airspace.mesh import errors, identity, quotas

pytestmark = pytest.mark.unit
ACME = identity.Identity("user:a", "acme", ("operator",))
GLOBEX = identity.Identity("user:g", "globex", ("operator",))


def detail(error: errors.MeshError, kind):
    for packed in error.to_status().details:
        if packed.Is(kind.DESCRIPTOR):
            found = kind()
            packed.Unpack(found)
            return found
    raise AssertionError(f"no {kind.__name__}")


def admission(max_unary: int = 2, max_streams: int = 1, **tenants) -> CallAdmission:
    limits = quotas.Quotas(tenants={t: quotas.TenantQuota(**q) for t, q in tenants.items()})
    return CallAdmission(quotas.RateLimiter(limits, clock=lambda: 0.0), max_unary, max_streams)


def test_a_full_gateway_sheds_calls_of_that_kind_until_one_ends():
    gate = admission()
    with gate.admit(ACME, streaming=False), gate.admit(GLOBEX, streaming=False):
        with pytest.raises(errors.ResourceExhausted) as shed, gate.admit(ACME, streaming=False):
            pass
        assert shed.value.reason == "OVERLOADED"
        assert detail(shed.value, error_details_pb2.RetryInfo).retry_delay.nanos > 0
        assert detail(shed.value, error_details_pb2.QuotaFailure).violations[0].subject == (
            "gateway:max_unary_in_flight"
        )
        with gate.admit(ACME, streaming=True):  # streams have places of their own
            pass
    with gate.admit(ACME, streaming=False):  # places freed when the calls ended
        pass


def test_a_tenant_over_its_rate_is_refused_and_takes_no_place():
    gate = admission(acme={"requests_per_second": 1, "burst": 1})
    with gate.admit(ACME, streaming=False):
        pass
    with pytest.raises(errors.ResourceExhausted) as refused, gate.admit(ACME, streaming=False):
        pass
    assert refused.value.reason == "RATE_LIMITED"
    assert detail(refused.value, error_details_pb2.QuotaFailure).violations[0].subject == (
        "tenant:acme"
    )
    with gate.admit(GLOBEX, streaming=False), gate.admit(GLOBEX, streaming=False):
        pass  # both places were free: the refused call held none
