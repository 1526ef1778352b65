"""The deadline of the RPC being served, so outgoing calls can pass the time that is left.

Python's gRPC does not forward deadlines by itself.
"""

from __future__ import annotations

import contextvars
import time

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "airspace_deadline", default=None
)


def bind(time_remaining: float | None) -> None:
    _deadline.set(None if time_remaining is None else time.monotonic() + time_remaining)


def remaining() -> float | None:
    """Seconds left before the current RPC's deadline, or None when it has none."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def timeout_for(requested: float | None, default: float) -> float:
    """The timeout of an outgoing call: what was asked (or the default), capped by what is left."""
    timeout = requested if requested is not None else default
    left = remaining()
    return timeout if left is None else min(timeout, left)
