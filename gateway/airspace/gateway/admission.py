"""Which calls the gateway lets through: each tenant within its rate (airspace.mesh.quotas),
and the gateway as a whole within its limits of unary calls and streams in flight.

Past a limit a call is shed at once with RESOURCE_EXHAUSTED and RetryInfo instead of
queueing: memory stays bounded however hard clients push, and well-behaved clients
(ghz, the SDKs' retry policies) back off as told. The gRPC server's own hard cap
(max_concurrent_rpcs) sits above these limits, so it never answers without RetryInfo.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from prometheus_client import Counter, Gauge

from airspace.mesh import identity, quotas
from airspace.mesh.reasons import Reason

# Shed calls come back after about this long: long enough for calls in flight to end.
OVERLOAD_RETRY_SECONDS = 0.5

REFUSED = Counter(
    "airspace_gateway_calls_refused_total",
    "Calls the gateway refused before forwarding: over a tenant's rate (rate_limited) or over "
    "its own limits of calls in flight (overloaded).",
    ("reason",),
)
IN_FLIGHT = Gauge(
    "airspace_gateway_calls_in_flight",
    "Calls the gateway is forwarding now, by kind (unary, stream).",
    ("kind",),
)


class CallAdmission:
    def __init__(self, rate: quotas.RateLimiter, max_unary: int, max_streams: int):
        self._rate = rate
        self._limits = {"unary": max_unary, "stream": max_streams}
        self._in_flight = {"unary": 0, "stream": 0}

    @contextlib.contextmanager
    def admit(self, caller: identity.Identity, streaming: bool) -> Iterator[None]:
        """Holds a place for the call while it is forwarded; refuses it when the caller's
        tenant is over its rate or the gateway is full."""
        wait = self._rate.wait_for(caller.tenant)
        if wait:
            REFUSED.labels("rate_limited").inc()
            raise quotas.exceeded(
                f"tenant {caller.tenant[:64]} is over its rate of calls",
                Reason.RATE_LIMITED,
                f"tenant:{caller.tenant[:64]}",
                wait,
            )
        kind = "stream" if streaming else "unary"
        if self._in_flight[kind] >= self._limits[kind]:
            REFUSED.labels("overloaded").inc()
            raise quotas.exceeded(
                f"the gateway has {self._limits[kind]} {kind} calls in flight, its limit",
                Reason.OVERLOADED,
                f"gateway:max_{kind}_in_flight",
                OVERLOAD_RETRY_SECONDS,
            )
        self._in_flight[kind] += 1
        IN_FLIGHT.labels(kind).inc()
        try:
            yield
        finally:
            self._in_flight[kind] -= 1
            IN_FLIGHT.labels(kind).dec()
