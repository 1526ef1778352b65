"""The policy service's active bundle, kept in sync over one long-lived stream.

The stream sends the bundle when it opens and again after every reload; when it breaks
the feed opens it again with jittered backoff. Decisions fail closed: there is no engine
before the first bundle arrives, nor once the stream has been down longer than the
staleness bound (a reload may have happened meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from airspace.mesh import errors, tasks
from airspace.mesh.reasons import Reason
from airspace.policy.engine import BundleError, Engine, parse_bundle
from airspace.policy.engine.pii.masking import Masker
from airspace.policy.v1 import policy_pb2
from airspace.router.backoff import Backoff
from airspace.router.repositories.ports import BundleSource

log = logging.getLogger("airspace.router")


class BundleFeed:
    def __init__(
        self,
        source: BundleSource,
        hash_key: bytes,
        *,
        staleness_seconds: float,
        first_bundle_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._source = source
        self._hash_key = hash_key
        self._key_id = Masker(hash_key).key_id()
        self._staleness = staleness_seconds
        self._first_bundle = first_bundle_seconds
        self._clock = clock
        self._engine: Engine | None = None
        self._missing = "no policy bundle from the policy service yet"
        self._arrived = asyncio.Event()
        self._down_since: float | None = None  # None while the stream is open
        self._task: asyncio.Task[None] | None = None
        self._patient_until = 0.0

    def start(self) -> None:
        self._patient_until = self._clock() + self._first_bundle
        self._task = asyncio.get_running_loop().create_task(self._follow())

    async def close(self) -> None:
        await tasks.cancel(self._task)

    @property
    def connected(self) -> bool:
        """Whether the bundle stream is open (the bundle in force is current)."""
        return self._down_since is None

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
        down_since = self._down_since
        if down_since is not None and self._clock() - down_since > self._staleness:
            raise errors.Unavailable(
                f"the bundle stream from the policy service is down for more than "
                f"{self._staleness:g}s",
                reason=Reason.BUNDLE_STALE,
            )
        return engine

    async def _follow(self) -> None:
        backoff = Backoff()
        while True:
            try:
                async for message in self._source.watch():
                    self._down_since = None
                    self._accept(message)
                    backoff.reset()
            except errors.MeshError as exc:
                log.warning("policy bundle stream: %s", exc.message)
            except Exception:  # keep following whatever broke the stream
                log.exception("policy bundle stream failed")
            if self._down_since is None:
                self._down_since = self._clock()
            await asyncio.sleep(backoff.delay())

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
