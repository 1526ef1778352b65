"""The router's run admission: places shared between tenants in turn, quotas and the queue
bound refused up front with RetryInfo and QuotaFailure, withdrawn runs leaving no trace."""

from __future__ import annotations

import pytest
from google.rpc import error_details_pb2

from airspace.mesh import errors, quotas
from airspace.router.run_admission import RunAdmission, Ticket, Waiting

pytestmark = pytest.mark.unit


def unpacked(error: errors.MeshError, kind):
    for packed in error.to_status().details:
        if packed.Is(kind.DESCRIPTOR):
            detail = kind()
            packed.Unpack(detail)
            return detail
    raise AssertionError(f"no {kind.__name__} in the status")


class Started:
    """The runs an admission started, in order, each ended by hand."""

    def __init__(self, admission: RunAdmission) -> None:
        self.admission = admission
        self.order: list[str] = []
        self.tickets: dict[str, Ticket] = {}

    def enter(self, ticket: Ticket, label: str) -> Waiting | None:
        self.tickets[label] = ticket
        return self.admission.enter(ticket, lambda: self.order.append(label))

    def end(self, label: str) -> None:
        self.admission.done(self.tickets[label])


def test_a_freed_place_goes_to_the_tenants_in_turn_not_in_arrival_order():
    admission = RunAdmission(max_running=1, max_queued=100, tenant_quotas=quotas.Quotas())
    started = Started(admission)
    started.enter(admission.admit("a"), "a0")
    for i in range(1, 5):
        assert started.enter(admission.admit("a"), f"a{i}") is not None  # queued
    started.enter(admission.admit("b"), "b0")
    assert started.order == ["a0"]
    while len(started.order) < 6:
        started.end(started.order[-1])
    # b arrived after four more of a's runs, and still goes second.
    assert started.order == ["a0", "a1", "b0", "a2", "a3", "a4"]
    started.end("a4")
    assert admission._active == {}


async def test_a_tenant_at_its_quota_is_refused_and_another_tenant_is_not():
    tenant_quotas = quotas.Quotas(tenants={"acme": quotas.TenantQuota(concurrent_runs=2)})
    admission = RunAdmission(max_running=10, max_queued=10, tenant_quotas=tenant_quotas)
    held = [admission.admit("acme"), admission.admit("acme")]
    with pytest.raises(errors.ResourceExhausted) as refused:
        admission.admit("acme")
    assert refused.value.reason == "RUN_QUOTA_EXCEEDED"
    assert unpacked(refused.value, error_details_pb2.QuotaFailure).violations[0].subject == (
        "tenant:acme"
    )
    assert unpacked(refused.value, error_details_pb2.RetryInfo).retry_delay.seconds == 1
    admission.admit("globex").release()  # unlimited by default
    held[0].release()
    admission.admit("acme")  # a place freed up


def test_new_runs_are_shed_when_the_queue_is_full_but_resumed_runs_are_not():
    admission = RunAdmission(max_running=1, max_queued=1, tenant_quotas=quotas.Quotas())
    started = Started(admission)
    started.enter(admission.admit("a"), "running")
    started.enter(admission.admit("a"), "queued")
    with pytest.raises(errors.ResourceExhausted) as refused:
        admission.admit("b")
    assert refused.value.reason == "OVERLOADED"
    started.enter(admission.ticket("b"), "resumed")  # a resumed run waits
    for label in ("running", "queued", "resumed"):
        started.end(label)
    assert started.order == ["running", "queued", "resumed"]


def test_a_run_withdrawn_from_the_queue_gives_up_its_place_and_its_ticket():
    admission = RunAdmission(max_running=1, max_queued=5, tenant_quotas=quotas.Quotas())
    started = Started(admission)
    started.enter(admission.admit("t"), "first")
    withdrawn = started.enter(admission.admit("t"), "withdrawn")
    started.enter(admission.admit("t"), "next")
    assert withdrawn is not None
    admission.withdraw(withdrawn)
    assert admission.admit("t")  # the queue has room again
    started.end("first")
    started.end("next")
    assert started.order == ["first", "next"]
    assert admission._active == {"t": 1}  # only the ticket taken above is left


def test_quotas_parse_and_refuse_what_cannot_work():
    parsed = quotas.parse(
        {
            "default": {"requests_per_second": 10},
            "tenants": {"acme": {"requests_per_second": 2.5, "burst": 5, "concurrent_runs": 3}},
        }
    )
    assert parsed.of("acme") == quotas.TenantQuota(2.5, 5, 3)
    assert parsed.of("other").bucket_size == 10
    for bad, field in [
        ({"default": {"requests_per_second": -1}}, "default.requests_per_second"),
        ({"tenants": {"acme": {"burst": "lots"}}}, "tenants.acme.burst"),
        ({"tenants": {"acme": {"rps": 1}}}, "tenants.acme.rps"),
        ({"default": {"burst": float("inf")}}, "default.burst"),
    ]:
        with pytest.raises(errors.InvalidArgument) as refused:
            quotas.parse(bad)
        assert refused.value.violations[0][0] == field


def test_the_rate_limiter_allows_the_burst_then_one_call_per_refill():
    now = [100.0]
    limiter = quotas.RateLimiter(
        quotas.Quotas(tenants={"acme": quotas.TenantQuota(requests_per_second=2, burst=3)}),
        clock=lambda: now[0],
    )
    assert [limiter.wait_for("acme") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait_for("acme") == pytest.approx(0.5)
    now[0] += 0.5
    assert limiter.wait_for("acme") == 0.0
    assert limiter.wait_for("globex") == 0.0  # no quota: never limited
