"""The policy service's active bundle, kept in sync over one long-lived stream.

The stream sends the bundle when it opens and again after every reload, and a keepalive
at a fixed interval in between; when it breaks the feed opens it again with jittered
backoff. Decisions fail closed: there is no engine before the first bundle arrives, nor
once nothing was heard from the stream for longer than the staleness bound (a reload may
have happened meanwhile). The bound counts from the last message received, so a stream
that silently stops delivering (a half-open TCP connection) goes stale too, and is opened
again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

from airspace.mesh import errors, tasks
from airspace.mesh.reasons import Reason
from airspace.policy.engine import BundleError, Engine, parse_bundle
from airspace.policy.engine.pii.masking import Masker
from airspace.policy.v1 import policy_pb2
from airspace.router.backoff import Backoff
from airspace.router.repositories.ports import BundleSource

log = logging.getLogger("airspace.router")

# An open stream is silent only once it missed a few of the policy service's keepalives
# (every 5 s by default), whatever the staleness bound: a bound shorter than that would
# refuse between two keepalives of a healthy stream.
KEEPALIVE_GRACE_SECONDS = 15.0


class BundleFeed:
    def __init__(
        self,
        source: BundleSource,
        hash_key: bytes,
        *,
        staleness_seconds: float,
        first_bundle_seconds: float,
        keepalive_grace_seconds: float = KEEPALIVE_GRACE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._source = source
        self._hash_key = hash_key
        self._key_id = Masker(hash_key).key_id()
        self._staleness = staleness_seconds
        self._first_bundle = first_bundle_seconds
        # Silence past this on an open stream counts as a stream down.
        self._silence = max(staleness_seconds, keepalive_grace_seconds)
        self._clock = clock
        self._engine: Engine | None = None
        self._missing = "no policy bundle from the policy service yet"
        self._arrived = asyncio.Event()
        self._open = False
        self._last_heard = 0.0  # when the stream last delivered a message
        self._task: asyncio.Task[None] | None = None
        self._patient_until = 0.0

    def start(self) -> None:
        self._patient_until = self._clock() + self._first_bundle
        self._task = asyncio.get_running_loop().create_task(self._follow())

    async def close(self) -> None:
        await tasks.cancel(self._task)

    @property
    def connected(self) -> bool:
        """Whether the bundle stream is open and speaking (the bundle in force is current)."""
        return self._open and self._clock() - self._last_heard <= self._silence

    @property
    def masker(self) -> Masker:
        """The PII masker of the bundle in force, or one with the default hash length."""
        return self._engine.masker if self._engine is not None else Masker(self._hash_key)

    async def engine(self) -> Engine:
        """The engine to decide with now; Unavailable (POLICY_UNAVAILABLE or BUNDLE_STALE)
        when there is none to trust. Right after the router starts, waits a little for
        the first bundle rather than refuse the runs it resumes."""
        patience = self._patient_until - self._clock()
        if self._engine is None and patience > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), patience)
        engine = self._engine
        if engine is None:
            raise errors.Unavailable(self._missing, reason=Reason.POLICY_UNAVAILABLE)
        if not self.connected and self._clock() - self._last_heard > self._staleness:
            raise errors.Unavailable(
                f"nothing heard on the bundle stream from the policy service for more than "
                f"{self._staleness:g}s",
                reason=Reason.BUNDLE_STALE,
            )
        return engine

    async def _follow(self) -> None:
        backoff = Backoff()
        while True:
            try:
                await self._read(self._source.watch())
            except TimeoutError:
                log.warning(
                    "policy bundle stream: nothing heard for %gs; opening it again", self._silence
                )
            except errors.MeshError as exc:
                log.warning("policy bundle stream: %s", exc.message)
            except Exception:  # keep following whatever broke the stream
                log.exception("policy bundle stream failed")
            if self._open:  # it delivered: a new failure, so opened again soon
                backoff.reset()
                self._open = False
            await asyncio.sleep(backoff.delay())

    async def _read(self, stream: AsyncIterator[policy_pb2.WatchBundleResponse]) -> None:
        """Accepts what `stream` delivers until it ends; TimeoutError once it is silent
        (waiting no more cancels the stream)."""
        while True:
            try:
                message = await asyncio.wait_for(anext(stream), self._silence)
            except StopAsyncIteration:
                return
            self._open, self._last_heard = True, self._clock()
            if not message.keepalive:
                self._accept(message)

    def _accept(self, message: policy_pb2.WatchBundleResponse) -> None:
        if message.hash_key_id != self._key_id:
            # Hashes in masks and the audit log would not match the policy service's.
            self._refuse("the policy service hashes PII with another key than this router")
            log.error("give the router and the policy service the same AIRSPACE_HASH_KEY")
            return
        try:
            bundle = parse_bundle(message.document, message.source)
        except BundleError as exc:
            # The policy service enforces a bundle this router cannot: deciding with the
            # previous one would enforce another policy than the one in force.
            self._refuse(f"bundle {message.version[:64]} is not valid in this router: {exc}")
            return
        if bundle.digest != message.digest:
            self._refuse(f"bundle {message.version[:64]} arrived damaged (digest mismatch)")
            return
        if self._engine is None or self._engine.bundle.digest != bundle.digest:
            log.info(
                "policy bundle %s %s (%s) in force", bundle.name, bundle.version, bundle.digest[:12]
            )
        self._engine = Engine(bundle, self._hash_key)
        self._arrived.set()

    def _refuse(self, problem: str) -> None:
        """Decides nothing until a usable bundle comes (fail closed), starting now."""
        log.error("policy: %s", problem)
        self._missing = problem
        self._engine = None
        self._arrived.set()  # nothing better is on its way: refuse at once
