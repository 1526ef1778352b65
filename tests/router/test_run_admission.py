"""The router's run admission: places shared between tenants in turn, quotas and the queue
bound refused up front with RetryInfo and QuotaFailure, canceled waiters leaving no trace."""

from __future__ import annotations

import asyncio

import pytest
from google.rpc import error_details_pb2

from airspace.mesh import errors, quotas
from airspace.router.run_admission import RunAdmission

pytestmark = pytest.mark.unit


def unpacked(error: errors.MeshError, kind):
    for packed in error.to_status().details:
        if packed.Is(kind.DESCRIPTOR):
            detail = kind()
            packed.Unpack(detail)
            return detail
    raise AssertionError(f"no {kind.__name__} in the status")


async def test_a_freed_place_goes_to_the_tenants_in_turn_not_in_arrival_order():
    admission = RunAdmission(max_running=1, max_queued=100, tenant_quotas=quotas.Quotas())
    order: list[str] = []
    release = asyncio.Event()

    async def run(tenant: str, label: str) -> None:
        async with admission.turn(admission.admit(tenant)):
            order.append(label)
            if label == "a0":
                await release.wait()

    first = asyncio.create_task(run("a", "a0"))
    await asyncio.sleep(0)
    flood = [asyncio.create_task(run("a", f"a{i}")) for i in range(1, 5)]
    await asyncio.sleep(0)
    late = asyncio.create_task(run("b", "b0"))
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(first, *flood, late)
    # b arrived after four more of a's runs, and still goes second.
    assert order == ["a0", "a1", "b0", "a2", "a3", "a4"]


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


async def test_new_runs_are_shed_when_the_queue_is_full_but_resumed_runs_are_not():
    admission = RunAdmission(max_running=1, max_queued=1, tenant_quotas=quotas.Quotas())
    gate = asyncio.Event()

    async def run(ticket) -> None:
        async with admission.turn(ticket):
            await gate.wait()

    tasks = [asyncio.create_task(run(admission.admit("a"))) for _ in range(2)]
    await asyncio.sleep(0)
    with pytest.raises(errors.ResourceExhausted) as refused:
        admission.admit("b")
    assert refused.value.reason == "OVERLOADED"
    tasks.append(asyncio.create_task(run(admission.ticket("b"))))  # a resumed run waits
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(*tasks)


async def test_a_waiter_canceled_in_the_queue_gives_up_its_place_and_its_ticket():
    admission = RunAdmission(max_running=1, max_queued=5, tenant_quotas=quotas.Quotas())
    gate = asyncio.Event()
    ran: list[str] = []

    async def run(label: str) -> None:
        async with admission.turn(admission.admit(label)):
            ran.append(label)
            await gate.wait()

    running = asyncio.create_task(run("first"))
    await asyncio.sleep(0)
    canceled = asyncio.create_task(run("canceled"))
    waiting = asyncio.create_task(run("next"))
    await asyncio.sleep(0)
    canceled.cancel()
    await asyncio.gather(canceled, return_exceptions=True)
    gate.set()
    await asyncio.gather(running, waiting)
    assert ran == ["first", "next"]
    assert admission._active == {}  # every ticket given back


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
