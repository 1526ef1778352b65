"""Retention: deleting the payloads of runs that ended long ago, on an admin's request.

Pruning is explicit (`airspace admin prune`), never automatic: what to keep and for how
long is the operator's decision. Run records stay, so lists and counts remain right.
"""

from __future__ import annotations

import logging
import time

from airspace.mesh import errors
from airspace.router.guard import Guard
from airspace.router.repositories import RunRepository
from airspace.v1 import admin_pb2

log = logging.getLogger("airspace.router")
PRUNE = "retention.prune"


class Retention:
    def __init__(self, runs: RunRepository, guard: Guard):
        self._runs = runs
        self._guard = guard

    async def prune(self, request: admin_pb2.PruneRunsRequest) -> admin_pb2.PruneRunsResponse:
        if not request.HasField("finished_before"):
            raise errors.InvalidArgument("finished_before is required", field="finished_before")
        if request.finished_before.ToMicroseconds() > time.time() * 1e6:
            raise errors.InvalidArgument(
                "finished_before must not be in the future", field="finished_before"
            )
        if request.page_size < 0:
            raise errors.InvalidArgument("page_size must not be negative", field="page_size")
        caller = await self._guard.authorize(PRUNE, "run")
        pruned = await self._runs.prune(
            caller.tenant,
            request.finished_before.ToMicroseconds(),
            validate_only=request.validate_only,
            limit=request.page_size,
        )
        if not request.validate_only:
            log.info(
                "%s pruned %d runs of tenant %s that ended before %s",
                caller.principal,
                pruned.runs,
                caller.tenant,
                request.finished_before.ToJsonString(),
            )
        return admin_pb2.PruneRunsResponse(
            pruned_runs=pruned.runs,
            deleted_events=pruned.events,
            deleted_journal_entries=pruned.journal_entries,
            more=pruned.more,
        )
