"""LISTEN/NOTIFY: one listening connection per store process, waking the process's
watchers (RunSignals) for the runs that writes of any process announce."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg
from psycopg import sql

from airspace.mesh.database_urls import redacted
from airspace.state.run_signals import RunSignals

log = logging.getLogger(__name__)

# One channel for every run; the payload is the run id. Stores of other schemas in the
# same database share it, which costs them a spurious wake-up at most.
CHANNEL = "airspace_run_changed"
NOTIFY_SQL = "SELECT pg_notify('" + CHANNEL + "', %s)"
# How the listening connections show in pg_stat_activity.
LISTENER_NAME = "airspace-state-listener"
_BACKOFF_SECONDS = (0.1, 0.5, 1.0, 2.0, 5.0)


class RunNotifications:
    def __init__(self, url: str, signals: RunSignals):
        self._url = url
        self._signals = signals
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Returns once listening: a write committed after it is announced."""
        connection = await self._listen()
        self._task = asyncio.create_task(self._dispatch(connection), name="state-listener")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _listen(self) -> psycopg.AsyncConnection:
        connection = await psycopg.AsyncConnection.connect(
            self._url, autocommit=True, application_name=LISTENER_NAME
        )
        await connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
        return connection

    async def _dispatch(self, connection: psycopg.AsyncConnection) -> None:
        try:
            while True:
                try:
                    async for notify in connection.notifies():
                        self._signals.notify(notify.payload)
                except psycopg.OperationalError as exc:
                    log.warning("state listener lost %s: %s", redacted(self._url), exc)
                await connection.close()
                connection = await self._reconnect()
                # Announcements sent while nobody listened are lost: every watcher re-reads.
                self._signals.notify_all()
        finally:
            await connection.close()

    async def _reconnect(self) -> psycopg.AsyncConnection:
        attempt = 0
        while True:
            await asyncio.sleep(_BACKOFF_SECONDS[min(attempt, len(_BACKOFF_SECONDS) - 1)])
            try:
                return await self._listen()
            except psycopg.OperationalError as exc:
                log.warning("state listener cannot reach %s: %s", redacted(self._url), exc)
                attempt += 1
