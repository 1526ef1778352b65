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
under the same id by its first pass. A claimed record whose seal does not hold
(repositories/outbox_seal.py: altered, or added, where the state service keeps it) is
not relayed as it stands: an "audit.outbox_rejected" entry takes its place, naming what
the record claimed to be where that has the shape the router writes, and nothing it held.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import re
from collections.abc import Sequence

from airspace.mesh import errors
from airspace.policy.audit.records import DECISION_KIND
from airspace.policy.engine.pii.scan import scan_text
from airspace.policy.v1 import policy_pb2
from airspace.router import metrics
from airspace.router.audit import ROUTER, RUN_CREATED, RUN_STATE_CHANGED
from airspace.router.backoff import Backoff
from airspace.router.repositories import AuditOutboxRepository, AuditSink

log = logging.getLogger("airspace.router")

OUTBOX_REJECTED = "audit.outbox_rejected"
# The kinds of record the router stores in the outbox, and the shape of its ids.
_OUTBOX_KINDS = frozenset({DECISION_KIND, RUN_CREATED, RUN_STATE_CHANGED})
_HEX_ID = re.compile(r"[0-9a-f]{32}")
# The longest tenant a rejected record's entry is filed under.
_CLAIMED_CHARS = 128
# Where the entry of a rejected record that names no tenant (fit to keep) is filed.
_NO_TENANT = "*"
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
        # Records to relay, by the record_id of their outbox entry, oldest first.
        self._queue: dict[str, policy_pb2.AuditRecord] = {}
        self._relaying: asyncio.Task[None] | None = None
        self._taking_over: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._backoff = Backoff(first=0.1, most=5.0)

    def stored(self, records: Sequence[policy_pb2.AuditRecord]) -> None:
        """Takes records a write stored in the outbox, to relay them soon."""
        self._enqueue({record.record_id: record for record in records})

    def _enqueue(self, entries: dict[str, policy_pb2.AuditRecord]) -> None:
        """Queues what to append for each outbox entry (by its record_id)."""
        for record_id, record in entries.items():
            self._queue.setdefault(record_id, record)
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
                entries = {record.record_id: record for record in claimed.records}
                entries |= {record.record_id: _rejection(record) for record in claimed.rejected}
                if claimed.rejected:
                    metrics.record_audit_outbox_rejected(len(claimed.rejected))
                    log.error(
                        "%d audit records in the outbox fail their seal (altered or added "
                        "where the state service keeps them): relayed as %s entries",
                        len(claimed.rejected),
                        OUTBOX_REJECTED,
                    )
                fresh = {key: entry for key, entry in entries.items() if key not in self._queue}
                if fresh:
                    metrics.record_audit_taken_over(len(fresh))
                    log.info("relaying %d audit records left in the outbox", len(fresh))
                self._enqueue(fresh)
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
                batch = dict(itertools.islice(self._queue.items(), MAX_BATCH))
                if not await self._moved(batch):
                    await asyncio.sleep(self._backoff.delay())
                    continue
                self._backoff.reset()
                for record_id in batch:
                    self._queue.pop(record_id, None)
                metrics.set_audit_outbox_depth(len(self._queue))
                metrics.record_audit_relayed(len(batch))
        finally:
            self._relaying = None

    async def _moved(self, batch: dict[str, policy_pb2.AuditRecord]) -> bool:
        """Appends the batch to the audit log, then removes its entries from the outbox."""
        try:
            # Appended once per record_id: no batch id needed, whatever a retry holds.
            await self._audit_log.append(list(batch.values()), "")
            await self._outbox.remove(list(batch))
        except errors.MeshError as exc:
            metrics.record_audit_relay_failed()
            log.warning(
                "audit relay of %d records failed, trying again: %s", len(batch), exc.message
            )
            return False
        return True


def _rejection(record: policy_pb2.AuditRecord) -> policy_pb2.AuditRecord:
    """The entry a record whose seal fails is relayed as, under an id of its own made from
    the outbox entry's (any outbox id gives a valid one, and a relay that runs again
    appends it once). Nothing of the record is vouched for, so the entry keeps only what
    has the shape the router writes (a kind it stores, ids of 32 hex digits, a tenant in
    which the scanner finds no PII) and none of its details: it is filed where the record
    claims to belong, so that tenant's auditors see it, or with the mesh's own entries."""
    digest = hashlib.sha256(record.record_id.encode()).hexdigest()[:32]
    tenant = record.tenant[:_CLAIMED_CHARS]
    entry = policy_pb2.AuditRecord(
        kind=OUTBOX_REJECTED,
        tenant=tenant if tenant and not scan_text(tenant) else _NO_TENANT,
        principal=ROUTER,
        run_id=record.run_id if _HEX_ID.fullmatch(record.run_id) else "",
        record_id=f"rejected:{digest}",
    )
    entry.details.update(
        {
            "reason": "the record's outbox seal does not hold: it was altered, or added, "
            "where the state service keeps the audit outbox",
            "claimed_kind": record.kind if record.kind in _OUTBOX_KINDS else "other",
            "claimed_decision_id": (
                record.decision_id if _HEX_ID.fullmatch(record.decision_id) else ""
            ),
        }
    )
    return entry
