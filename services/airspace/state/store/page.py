"""One page of a listing, shared by every aggregate's list methods."""

from __future__ import annotations

import dataclasses
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    # Empty on the last page.
    next_page_token: str = ""
