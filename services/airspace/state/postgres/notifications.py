"""LISTEN/NOTIFY: one listening connection per store process, waking the process's
watchers (RunSignals) for the runs that writes of any process announce, and passing the
registry changes they announce on to the process's subscribers (RegistryChanges)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

import psycopg
from psycopg import sql

from airspace.mesh import errors, tasks
from airspace.mesh.database_urls import redacted
from airspace.state.postgres.statements import Conn, fetch_row
from airspace.state.registry_changes import RegistryChanges, change
from airspace.state.run_signals import RunSignals
from airspace.state.store.registry_changes import RegistryChangeFeed
from airspace.state.v1 import state_pb2

log = logging.getLogger(__name__)

# One channel for every run; the payload is the run id. Stores of other schemas in the
# same database share it, which costs them a spurious wake-up at most.
CHANNEL = "airspace_run_changed"
NOTIFY_SQL = "SELECT pg_notify('" + CHANNEL + "', %s)"
# Registry changes name their schema: a store of another schema ignores them, where a
# spurious change would cost its subscribers their caches.
REGISTRY_CHANNEL = "airspace_registry_changed"
_REGISTRY_NOTIFY_SQL = (
    "SELECT pg_notify('" + REGISTRY_CHANNEL + "', json_build_object('schema',"
    " current_schema(), 'kind', %s::int, 'tenant', %s::text, 'name', %s::text,"
    " 'revision', %s::bigint)::text)"
)
# How the listening connections show in pg_stat_activity.
LISTENER_NAME = "airspace-state-listener"
_BACKOFF_SECONDS = (0.1, 0.5, 1.0, 2.0, 5.0)


async def announce(conn: Conn, registry_change: state_pb2.RegistryChange) -> None:
    """Announces the change to every store's listener, when (and only if) the
    transaction commits."""
    await conn.execute(
        _REGISTRY_NOTIFY_SQL,
        (
            registry_change.kind,
            registry_change.tenant,
            registry_change.name,
            registry_change.revision,
        ),
    )


class Notifications(RegistryChangeFeed):
    def __init__(self, url: str, signals: RunSignals):
        self._url = url
        self._signals = signals
        self._registry = RegistryChanges()
        self._schema = ""
        # Whether the connection listens now: registry subscriptions are live only then.
        self._listening = False
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Returns once listening: a write committed after it is announced."""
        connection = await self._listen()
        self._task = asyncio.create_task(self._dispatch(connection), name="state-listener")

    async def close(self) -> None:
        await tasks.cancel(self._task)
        self._task = None
        self._listening = False
        self._registry.interrupt()

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[state_pb2.RegistryChange]]:
        """Only once started (the store opened); Unavailable while reconnecting."""
        if not self._listening:
            raise errors.Unavailable(
                "the state store is not listening for changes", retry_after=1.0
            )
        async with self._registry.subscribe() as changes:
            yield changes

    async def _listen(self) -> psycopg.AsyncConnection:
        connection = await psycopg.AsyncConnection.connect(
            self._url, autocommit=True, application_name=LISTENER_NAME
        )
        (self._schema,) = await fetch_row(connection, "SELECT current_schema()")
        for channel in (CHANNEL, REGISTRY_CHANNEL):
            await connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        self._listening = True
        return connection

    async def _dispatch(self, connection: psycopg.AsyncConnection) -> None:
        try:
            while True:
                try:
                    async for notify in connection.notifies():
                        self._deliver(notify)
                except psycopg.OperationalError as exc:
                    log.warning("state listener lost %s: %s", redacted(self._url), exc)
                self._listening = False
                # Announcements sent while nobody listened are lost: registry
                # subscribers start over, and every run watcher re-reads.
                self._registry.interrupt()
                await connection.close()
                connection = await self._reconnect()
                self._signals.notify_all()
        finally:
            await connection.close()

    def _deliver(self, notify: psycopg.Notify) -> None:
        if notify.channel == CHANNEL:
            self._signals.notify(notify.payload)
            return
        try:
            fields = json.loads(notify.payload)
            if fields["schema"] != self._schema:
                return
            announced = change(fields["kind"], fields["tenant"], fields["name"], fields["revision"])
        except (ValueError, KeyError, TypeError) as exc:
            # Another release's format: what changed is unknown, so subscribers start over.
            log.warning("unreadable registry change announced: %s", exc)
            self._registry.interrupt()
            return
        self._registry.publish(announced)

    async def _reconnect(self) -> psycopg.AsyncConnection:
        attempt = 0
        while True:
            await asyncio.sleep(_BACKOFF_SECONDS[min(attempt, len(_BACKOFF_SECONDS) - 1)])
            try:
                return await self._listen()
            except psycopg.OperationalError as exc:
                log.warning("state listener cannot reach %s: %s", redacted(self._url), exc)
                attempt += 1
