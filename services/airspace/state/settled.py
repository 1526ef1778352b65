"""The end of a queued write, told to its caller."""

from __future__ import annotations

import asyncio
from typing import Any


def settle(future: asyncio.Future, result: Any, error: BaseException | None) -> None:
    """Resolves the caller's future with the write's result or error."""
    if future.done():  # the caller went away (cancelled RPC); the write stands
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
