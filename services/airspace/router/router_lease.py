"""This router's lease in the state service: the one lease every run it executes is held
under (see airspace.state.rules.leases).

The router registers once (an epoch), then renews the lease every heartbeat with one
write, whatever the number of runs it holds, so runs that wait on an agent or a person
cost nothing while they wait. A renewal also says whether another router's lease lapsed
with runs still under it; the router then looks for runs to take over at once instead of
at its next recovery pass. A renewal refused because the lease lapsed (this router
stalled past it, or lost the state service for that long) means other routers may have
taken its runs over: it stops executing every run, registers again (which frees the
runs it held), and claims back what nobody took.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable

from airspace.mesh import errors
from airspace.mesh.reasons import Reason
from airspace.router.repositories import LeaseRepository
from airspace.router.settings import RouterSettings

log = logging.getLogger("airspace.router")


class RouterLease:
    def __init__(
        self,
        leases: LeaseRepository,
        settings: RouterSettings,
        on_lost: Callable[[], Awaitable[None]],
    ):
        self._leases = leases
        self._router_id = settings.router_id
        self._ttl = settings.lease_seconds
        self._every = settings.heartbeat_seconds
        self._on_lost = on_lost
        self._epoch = 0  # 0: not registered
        self._registering = asyncio.Lock()
        self._heartbeat: asyncio.Task[None] | None = None
        # Set when there may be runs to claim: after registering, or when a renewal
        # says another router's lease lapsed.
        self.takeover_pending = asyncio.Event()

    async def epoch(self) -> int:
        """The epoch of this router's registration, registering first when there is none."""
        async with self._registering:
            if not self._epoch:
                self._epoch = await self._leases.register(self._router_id, self._ttl)
                log.info("router %s registered, epoch %d", self._router_id, self._epoch)
                self.takeover_pending.set()
                if self._heartbeat is None:
                    self._heartbeat = asyncio.get_running_loop().create_task(
                        self._beat(), context=contextvars.Context()
                    )
            return self._epoch

    async def close(self) -> None:
        """Stops renewing and lets the lease lapse now, so other routers take the runs
        over at their next heartbeat instead of after the lease's time-to-live."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        if not self._epoch:
            return
        try:
            await self._leases.deregister(self._router_id, self._epoch)
        except errors.MeshError as exc:
            log.warning("cannot end the router lease (it will lapse): %s", exc.message)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                if not self._epoch:  # registering again failed last time
                    await self.epoch()
                    continue
                # A renewal may take until shortly before the lease would lapse: one given
                # up after a heartbeat's time lapsed leases that a busy state service (or
                # this router, busy starting runs) would have kept with a slower answer.
                pending = await self._leases.renew(
                    self._router_id, self._epoch, self._ttl, retry_for=self._ttl - self._every
                )
            except errors.MeshError as exc:
                if (
                    isinstance(exc, errors.FailedPrecondition)
                    and exc.reason == Reason.LEASE_NOT_HELD
                ):
                    await self._lost(exc.message)
                else:  # state out of reach, say; appends fail too once the lease lapses
                    log.warning("cannot renew the router lease: %s", exc.message)
                continue
            if pending:
                self.takeover_pending.set()

    async def _lost(self, why: str) -> None:
        log.warning("the router lease lapsed (%s): stopping every run, registering again", why)
        self._epoch = 0
        await self._on_lost()
        try:
            await self.epoch()
        except errors.MeshError as exc:
            log.warning("cannot register the router again yet: %s", exc.message)
