"""Listing pages from rows read one past the page size, for every store implementation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from google.protobuf.message import Message

from airspace.state import paging
from airspace.state.store.page import Page

T = TypeVar("T")
M = TypeVar("M", bound=Message)
Row = Any
# A page's records stay well inside the 4 MiB a gRPC message carries, whatever their size
# (runs of large inputs): a page that fills this ends early, its token where the next starts.
MAX_PAGE_BYTES = 2 * 1024 * 1024


def page_of(
    rows: list[Row], page_size: int, load: Callable[[Row], T], key: Callable[[Row], list]
) -> Page[T]:
    """A page from up to page_size + 1 rows; the extra row only tells that more follow.
    It holds at least one record, and past the first no more than MAX_PAGE_BYTES."""
    more = len(rows) > page_size
    items: list[T] = []
    size = 0
    for row in rows[:page_size]:
        item = load(row)
        size += item.ByteSize() if isinstance(item, Message) else 0
        if items and size > MAX_PAGE_BYTES:
            more = True
            break
        items.append(item)
    token = paging.encode(key(rows[len(items) - 1])) if more else ""
    return Page(items=items, next_page_token=token)


def page_of_messages(
    rows: list[Row],
    page_size: int,
    message: type[M],
    key: Callable[[Row], list] | None = None,
) -> Page[M]:
    """A page of the records serialized in each row's first column, keyed by the
    second column (a name or key) unless `key` says otherwise."""
    return page_of(rows, page_size, lambda row: message.FromString(row[0]), key or second_column)


def second_column(row: Row) -> list:
    """The page key of listings ordered by their second column (a name or key)."""
    return [row[1]]
