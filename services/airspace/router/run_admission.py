"""Which runs a router executes now and which wait their turn, shared fairly between tenants.

A router executes at most `max_running` runs at once; the others wait in a queue per
tenant, and a freed place goes to the tenants in turn (round robin), so a tenant
flooding the router waits behind itself, not in front of everyone else. New runs are
refused up front, before they are created, when their tenant already has its quota of
runs active here (`concurrent_runs`, airspace.mesh.quotas) or when `max_queued` runs
already wait: RESOURCE_EXHAUSTED with RetryInfo and QuotaFailure. Runs the router
resumes (recovered, approved) are never refused: they were accepted already.

Quotas count the runs active on this router replica; with N routers behind the gateway a
tenant may hold up to N times its quota across the mesh.

A run waiting its turn is only a small record (`Waiting`: its ticket and what starts it),
not a task: thousands may wait behind the running ones, and each costs its record and
its place in the queue until its turn comes and it is started.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable

from airspace.mesh import quotas
from airspace.mesh.reasons import Reason
from airspace.router import metrics

# A run refused for a quota may try again about this much later.
RETRY_SECONDS = 1.0


class Ticket:
    """One run's place among its tenant's active runs, from admission to its end here."""

    __slots__ = ("tenant", "_admission", "_held")

    def __init__(self, admission: RunAdmission, tenant: str):
        self.tenant = tenant
        self._admission = admission
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._admission._left(self.tenant)


@dataclasses.dataclass(slots=True, eq=False)
class Waiting:
    """A run waiting for a place: its ticket, and what starts it once it has one."""

    ticket: Ticket
    start: Callable[[], None]


class RunAdmission:
    def __init__(self, max_running: int, max_queued: int, tenant_quotas: quotas.Quotas):
        if max_running < 1:
            raise ValueError(f"a router executes at least one run at a time, not {max_running}")
        self._max_running = max_running
        self._max_queued = max_queued
        self._quotas = tenant_quotas
        self._running = 0
        # Tenants with runs waiting, in the order their turn comes.
        self._waiting: dict[str, collections.deque[Waiting]] = {}
        self._queued = 0
        self._active: collections.Counter[str] = collections.Counter()
        metrics.track_run_admission(lambda: self._running, lambda: self._queued)

    def admit(self, tenant: str) -> Ticket:
        """A ticket for a new run of `tenant`, or the refusal that says why not."""
        quota = self._quotas.of(tenant).concurrent_runs
        if quota and self._active[tenant] >= quota:
            metrics.record_run_refused(Reason.RUN_QUOTA_EXCEEDED)
            raise quotas.exceeded(
                f"tenant {tenant[:64]} has {quota} runs active on this router, its quota",
                Reason.RUN_QUOTA_EXCEEDED,
                f"tenant:{tenant[:64]}",
                RETRY_SECONDS,
            )
        if self._running >= self._max_running and self._queued >= self._max_queued:
            metrics.record_run_refused(Reason.OVERLOADED)
            raise quotas.exceeded(
                f"the router has {self._queued} runs waiting to execute, its limit",
                Reason.OVERLOADED,
                "router:max_queued_runs",
                RETRY_SECONDS,
            )
        return self.ticket(tenant)

    def has_room(self) -> bool:
        """Whether a run given its turn now would execute at once, not wait in the queue."""
        return self._running < self._max_running and not self._queued

    def ticket(self, tenant: str) -> Ticket:
        """A ticket without checks, for a run that was accepted before."""
        self._active[tenant] += 1
        return Ticket(self, tenant)

    def _left(self, tenant: str) -> None:
        self._active[tenant] -= 1
        if not self._active[tenant]:
            del self._active[tenant]

    def enter(self, ticket: Ticket, start: Callable[[], None]) -> Waiting | None:
        """Calls `start` now if there is a place for the run, or later, when its turn
        comes; returns its place in the queue then (None when it started at once). The
        run holds its place until it calls `done`."""
        if self.has_room():
            self._running += 1
            start()
            return None
        waiting = Waiting(ticket, start)
        self._waiting.setdefault(ticket.tenant, collections.deque()).append(waiting)
        self._queued += 1
        return waiting

    def withdraw(self, waiting: Waiting) -> None:
        """Takes a run out of the queue before its turn came, and gives its ticket back."""
        queue = self._waiting.get(waiting.ticket.tenant)
        if queue is not None and waiting in queue:
            queue.remove(waiting)
            self._queued -= 1
            if not queue:
                del self._waiting[waiting.ticket.tenant]
        waiting.ticket.release()

    def done(self, ticket: Ticket) -> None:
        """A run that started stopped here: its place goes to the next run in turn, and
        its ticket back."""
        self._running -= 1
        ticket.release()
        self._grant()

    def _grant(self) -> None:
        while self._queued and self._running < self._max_running:
            tenant = next(iter(self._waiting))
            queue = self._waiting.pop(tenant)
            waiting = queue.popleft()
            self._queued -= 1
            if queue:
                self._waiting[tenant] = queue  # to the back: the next tenant goes first
            self._running += 1
            waiting.start()
