"""Calls to the mesh services the router depends on, riding out their restarts."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
from google.protobuf import message

from airspace.mesh import errors
from airspace.router.backoff import Backoff

log = logging.getLogger("airspace.router")

# Codes that mean "the callee did not get to it", or crashed before answering: worth
# another try. A retried write may therefore have committed already; every write the
# router retries is idempotent or reconciled (request ids, expected sequences, leases).
TRANSIENT = (grpc.StatusCode.UNAVAILABLE,)
# How long a call keeps trying an unavailable service: long enough to ride out a
# restart of the state service (a few seconds), short enough to end a request clearly.
# A served request's own deadline ends the retries sooner.
RETRY_SECONDS = 30.0
_FIRST_DELAY, _MAX_DELAY = 0.05, 1.0
# An outage fails many calls at once: say so once per method in this interval.
_LOG_INTERVAL_SECONDS = 5.0
_last_logged: dict[str, float] = {}

Response = TypeVar("Response")


async def call(
    method: Callable[..., Awaitable[Response]],
    request: message.Message,
    *,
    retry_for: float = RETRY_SECONDS,
    timeout: float | None = None,
) -> Response:
    """Calls a mesh service as `once` does, riding out its unavailability as `retrying`
    does."""
    return await retrying(
        lambda: once(method, request, timeout=timeout), _name(request), retry_for=retry_for
    )


async def once(
    method: Callable[..., Awaitable[Response]],
    request: message.Message,
    *,
    timeout: float | None = None,
) -> Response:
    """Calls a mesh service once, and turns its error into the matching domain error so
    it reaches our caller unchanged."""
    try:
        return await method(request, timeout=timeout)
    except grpc.aio.AioRpcError as exc:
        raise errors.from_rpc_error(exc) from exc


async def retrying(
    attempt: Callable[[], Awaitable[Response]], name: str, *, retry_for: float = RETRY_SECONDS
) -> Response:
    """Tries again, with jittered exponential backoff for up to `retry_for` seconds,
    while an attempt fails with UNAVAILABLE (the service restarting, say)."""
    give_up = time.monotonic() + retry_for
    backoff, retries = Backoff(_FIRST_DELAY, _MAX_DELAY), 0
    while True:
        try:
            return await attempt()
        except errors.MeshError as exc:
            pause = backoff.delay()
            if exc.code not in TRANSIENT or time.monotonic() + pause > give_up:
                if retries:
                    log.warning("%s: gave up after %d retries: %s", name, retries, exc.message)
                raise
            if not retries and _first_in_a_while(name):
                log.warning(
                    "%s: service unavailable (%s); retrying for up to %.0fs",
                    name,
                    exc.message,
                    retry_for,
                )
        await asyncio.sleep(pause)
        retries += 1


def _name(request: message.Message) -> str:
    return type(request).__name__.removesuffix("Request")


def _first_in_a_while(name: str) -> bool:
    now = time.monotonic()
    if now - _last_logged.get(name, -_LOG_INTERVAL_SECONDS) < _LOG_INTERVAL_SECONDS:
        return False
    _last_logged[name] = now
    return True
