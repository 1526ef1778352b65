"""Moves the records of the state service's audit outbox to the policy service's audit log.

A decision made for a run, and a change of the run, is stored in the outbox with the run's
next append, in its transaction (run_log.py): durable no later than what it authorizes,
without a write of the audit log of its own. Once the append is acknowledged the run's
log hands its records here. The relay gathers them for `gather_seconds` (the delay
before `airspace audit list` shows them), appends them to the audit log in batches of
at most MAX_BATCH, then removes them from the outbox: one audit log commit and one
state write per batch, shared by every run in flight. With nothing to relay there is no
task and no timer: parked runs cost nothing here.

Exactly once: every record carries a record_id of its own, and the policy service
appends a record once under its id whatever batch carries it. A batch that failed is
sent again whole; a crash between the append to the audit log and the removal leaves
records in the outbox that the next relay sends again, and the audit log skips them.
Records a crashed router left are claimed (`take_over`) by the recovery pass of a
router that sees its lease lapse, and those of this router from before it restarted
under the same id by its first pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Sequence

from airspace.mesh import errors
from airspace.policy.v1 import policy_pb2
from airspace.router import metrics
from airspace.router.backoff import Backoff
from airspace.router.repositories import AuditOutboxRepository, AuditSink

log = logging.getLogger("airspace.router")
# Records per relay batch: at most one audit log transaction (RecordDecisions).
MAX_BATCH = 512
# How long a stopping router goes on relaying; what is left stays in the outbox.
CLOSE_SECONDS = 5.0


class AuditRelay:
    def __init__(
        self,
        outbox: AuditOutboxRepository,
        audit_log: AuditSink,
        router_id: str,
        gather_seconds: float,
    ):
        self._outbox = outbox
        self._audit_log = audit_log
        self._router_id = router_id
        self._gather = gather_seconds
        # Records to relay, by record_id, oldest first.
        self._queue: dict[str, policy_pb2.AuditRecord] = {}
        self._relaying: asyncio.Task[None] | None = None
        self._taking_over: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._backoff = Backoff(first=0.1, most=5.0)

    def stored(self, records: Sequence[policy_pb2.AuditRecord]) -> None:
        """Takes records a write stored in the outbox, to relay them soon."""
        for record in records:
            self._queue.setdefault(record.record_id, record)
        metrics.set_audit_outbox_depth(len(self._queue))
        if self._relaying is None and self._queue:
            self._relaying = asyncio.get_running_loop().create_task(self._relay())

    def take_over(self, epoch: int) -> None:
        """Claims, in the background, the outbox records of routers whose lease lapsed,
        with this router's own left from before, and relays them."""
        if self._taking_over is None:
            self._taking_over = asyncio.get_running_loop().create_task(self._take_over(epoch))

    async def _take_over(self, epoch: int) -> None:
        """Page after page, each claimed once the last one is relayed."""
        try:
            while True:
                claimed = await self._outbox.claim(self._router_id, epoch, MAX_BATCH)
                fresh = [record for record in claimed if record.record_id not in self._queue]
                if fresh:
                    metrics.record_audit_taken_over(len(fresh))
                    log.info("relaying %d audit records left in the outbox", len(fresh))
                self.stored(fresh)
                if len(claimed) < MAX_BATCH or not fresh:
                    return
                if self._relaying is not None:
                    await asyncio.shield(self._relaying)
        except errors.MeshError as exc:
            # The records stay in the outbox for the next takeover pass.
            log.warning("cannot claim the audit records left in the outbox: %s", exc.message)
        finally:
            self._taking_over = None

    async def close(self) -> None:
        """Relays what is queued without gathering more, for a while at most."""
        self._closing.set()
        if self._taking_over is not None:
            self._taking_over.cancel()
        if self._relaying is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._relaying), CLOSE_SECONDS)
        except TimeoutError:
            self._relaying.cancel()
            log.warning("%d audit records left in the outbox for the next router", len(self._queue))

    async def _relay(self) -> None:
        try:
            while self._queue:
                # Records that came while a batch was in flight gather again: a batch per
                # delay, not one per append, unless a whole batch waits already.
                if len(self._queue) < MAX_BATCH:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._gather):
                            await self._closing.wait()
                batch = list(itertools.islice(self._queue.values(), MAX_BATCH))
                if not await self._moved(batch):
                    await asyncio.sleep(self._backoff.delay())
                    continue
                self._backoff.reset()
                for record in batch:
                    self._queue.pop(record.record_id, None)
                metrics.set_audit_outbox_depth(len(self._queue))
                metrics.record_audit_relayed(len(batch))
        finally:
            self._relaying = None

    async def _moved(self, batch: list[policy_pb2.AuditRecord]) -> bool:
        """Appends the batch to the audit log, then removes it from the outbox."""
        try:
            # Appended once per record_id: no batch id needed, whatever a retry holds.
            await self._audit_log.append(batch, "")
            await self._outbox.remove([record.record_id for record in batch])
        except errors.MeshError as exc:
            metrics.record_audit_relay_failed()
            log.warning(
                "audit relay of %d records failed, trying again: %s", len(batch), exc.message
            )
            return False
        return True
