"""Retention: deleting the payloads of runs that ended long ago, on an admin's request.

Pruning is explicit (`airspace admin prune`), never automatic: what to keep and for how
long is the operator's decision. Run records stay, so lists and counts remain right.
"""

from __future__ import annotations

import datetime
import logging
import time

from airspace.mesh import errors
from airspace.router.commands import PruneRuns
from airspace.router.guard import Guard
from airspace.router.repositories import Pruned, RunRepository

log = logging.getLogger("airspace.router")
PRUNE = "retention.prune"


class Retention:
    def __init__(self, runs: RunRepository, guard: Guard):
        self._runs = runs
        self._guard = guard

    async def prune(self, command: PruneRuns) -> Pruned:
        before = command.finished_before_micros
        if before is None:
            raise errors.InvalidArgument("finished_before is required", field="finished_before")
        if before > time.time() * 1e6:
            raise errors.InvalidArgument(
                "finished_before must not be in the future", field="finished_before"
            )
        if command.limit < 0:
            raise errors.InvalidArgument("page_size must not be negative", field="page_size")
        caller = await self._guard.authorize(PRUNE, "run")
        pruned = await self._runs.prune(
            caller.tenant, before, validate_only=command.validate_only, limit=command.limit
        )
        if not command.validate_only:
            log.info(
                "%s pruned %d runs of tenant %s that ended before %s",
                caller.principal,
                pruned.runs,
                caller.tenant,
                datetime.datetime.fromtimestamp(before / 1e6, datetime.UTC).isoformat(),
            )
        return pruned
