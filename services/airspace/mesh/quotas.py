"""Per-tenant quotas, from one file the gateway and the routers read alike.

    default:                      # every tenant not listed below
      requests_per_second: 50     # gateway: calls per second, refilled continuously
      burst: 100                  # gateway: calls a tenant may make at once
      concurrent_runs: 200        # router: runs a tenant may have active on one router
    tenants:
      acme: {requests_per_second: 5, burst: 10, concurrent_runs: 20}

A zero (or absent) figure means no limit; no file means no limits at all. Set the path
with AIRSPACE_GATEWAY_QUOTAS_FILE / AIRSPACE_ROUTER_QUOTAS_FILE (or AIRSPACE_QUOTAS_FILE
for both). A tenant over a quota is answered RESOURCE_EXHAUSTED with RetryInfo (when to
try again) and QuotaFailure (which quota).
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
import time
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from airspace.mesh import errors

_FIELDS = ("requests_per_second", "burst", "concurrent_runs")
# Buckets kept per gateway: beyond this, full (idle) buckets are dropped first.
MAX_TRACKED_TENANTS = 10_000


@dataclasses.dataclass(frozen=True)
class TenantQuota:
    requests_per_second: float = 0.0
    burst: int = 0
    concurrent_runs: int = 0

    @property
    def bucket_size(self) -> float:
        """Calls allowed at once: the burst, or one second's worth when none is set."""
        return float(self.burst or max(1, math.ceil(self.requests_per_second)))


@dataclasses.dataclass(frozen=True)
class Quotas:
    default: TenantQuota = TenantQuota()
    tenants: Mapping[str, TenantQuota] = dataclasses.field(default_factory=dict)

    def of(self, tenant: str) -> TenantQuota:
        return self.tenants.get(tenant, self.default)


def _quota(raw: Any, where: str) -> TenantQuota:
    if not isinstance(raw, dict):
        raise errors.InvalidArgument(f"{where} must be a mapping of quotas", field=where)
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise errors.InvalidArgument(
            f"{where}: unknown quota {unknown[0][:64]!r}; use {', '.join(_FIELDS)}",
            field=f"{where}.{unknown[0][:64]}",
        )
    values: dict[str, float | int] = {}
    for name in _FIELDS:
        value = raw.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise errors.InvalidArgument(
                f"{where}.{name} must be a number", field=f"{where}.{name}"
            )
        if not math.isfinite(value) or value < 0:
            raise errors.InvalidArgument(
                f"{where}.{name} must be 0 (no limit) or more", field=f"{where}.{name}"
            )
        values[name] = float(value) if name == "requests_per_second" else int(value)
    return TenantQuota(**values)  # type: ignore[arg-type]


def parse(document: Any) -> Quotas:
    if document is None:
        return Quotas()
    if not isinstance(document, dict) or set(document) - {"default", "tenants"}:
        raise errors.InvalidArgument("a quotas file holds `default` and `tenants`", field="quotas")
    tenants = document.get("tenants") or {}
    if not isinstance(tenants, dict):
        raise errors.InvalidArgument("tenants must map tenant names to quotas", field="tenants")
    return Quotas(
        _quota(document.get("default") or {}, "default"),
        {str(name): _quota(raw, f"tenants.{str(name)[:64]}") for name, raw in tenants.items()},
    )


def load(path: str) -> Quotas:
    """The quotas in the file at `path`; no limits when `path` is empty."""
    if not path:
        return Quotas()
    try:
        document = yaml.safe_load(pathlib.Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise errors.InvalidArgument(
            f"cannot read quotas {path}: {exc}", field="quotas_file"
        ) from exc
    return parse(document)


def exceeded(
    message: str, reason: str, subject: str, retry_after: float
) -> errors.ResourceExhausted:
    """The refusal of a call over a quota: when to retry, and which quota it hit."""
    return errors.ResourceExhausted(
        message,
        reason=reason,
        retry_after=retry_after,
        quota_violations=[(subject, message)],
    )


@dataclasses.dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """A token bucket per tenant: `requests_per_second` refill it, `burst` bounds it."""

    def __init__(self, quotas: Quotas, clock: Callable[[], float] = time.monotonic):
        self._quotas = quotas
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def wait_for(self, tenant: str) -> float:
        """Takes a token for one call: 0 when the call may go, else the seconds until the
        tenant's next token (nothing is taken then)."""
        quota = self._quotas.of(tenant)
        if not quota.requests_per_second:
            return 0.0
        now, size = self._clock(), quota.bucket_size
        bucket = self._buckets.get(tenant)
        if bucket is None:
            self._forget_idle(now)
            bucket = self._buckets[tenant] = _Bucket(size, now)
        bucket.tokens = min(size, bucket.tokens + (now - bucket.at) * quota.requests_per_second)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / quota.requests_per_second

    def _forget_idle(self, now: float) -> None:
        if len(self._buckets) < MAX_TRACKED_TENANTS:
            return
        for tenant, bucket in list(self._buckets.items()):
            quota = self._quotas.of(tenant)
            refilled = bucket.tokens + (now - bucket.at) * quota.requests_per_second
            if refilled >= quota.bucket_size:  # a fresh bucket would be the same
                del self._buckets[tenant]
        while len(self._buckets) >= MAX_TRACKED_TENANTS:  # all busy: drop the oldest
            del self._buckets[next(iter(self._buckets))]
