"""Follows the state service's registry watch and tells the cache what it says.

The stream opens with a message that it is live, from when on the cache may be trusted;
then one message per change. When it breaks (or its deadline ends it) a change may go
unannounced until it is open again: the cache is bypassed meanwhile, and starts empty
once the new stream is live. It is reopened with jittered backoff."""

from __future__ import annotations

import asyncio
import logging

from airspace.mesh import errors, tasks
from airspace.router import metrics
from airspace.router.backoff import Backoff
from airspace.router.registry_cache.cache import RegistryCache
from airspace.router.repositories.ports import RegistryChangeSource

log = logging.getLogger("airspace.router")


class RegistryFollower:
    def __init__(self, source: RegistryChangeSource, cache: RegistryCache):
        self._source = source
        self._cache = cache
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._follow())

    async def close(self) -> None:
        await tasks.cancel(self._task)
        self._went_down()

    async def _follow(self) -> None:
        backoff = Backoff()
        while True:
            try:
                async for message in self._source.watch():
                    if message.HasField("live"):
                        self._cache.went_live()
                        metrics.set_registry_watch_live(True)
                        backoff.reset()
                    else:
                        self._cache.changed(message.change)
            except errors.DeadlineExceeded:
                log.debug("registry watch renewed")  # its deadline ended it: open a new one
            except errors.MeshError as exc:
                log.warning("registry watch: %s", exc.message)
            except Exception:  # keep following whatever broke the stream
                log.exception("registry watch failed")
            self._went_down()
            await asyncio.sleep(backoff.delay())

    def _went_down(self) -> None:
        self._cache.went_down()
        metrics.set_registry_watch_live(False)
