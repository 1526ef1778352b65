"""Running one statement on a connection of the store, with tuple rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

Conn = psycopg.AsyncConnection
Row = tuple[Any, ...]


async def fetch_one(conn: Conn, sql: str, args: Sequence[Any] = ()) -> Row | None:
    return await (await conn.execute(sql, args)).fetchone()


async def fetch_row(conn: Conn, sql: str, args: Sequence[Any] = ()) -> Row:
    """The one row an aggregate (COUNT, MAX) or a just-locked row query always returns."""
    row = await fetch_one(conn, sql, args)
    if row is None:
        raise LookupError(f"no row for: {sql[:80]}")
    return row


async def fetch_all(conn: Conn, sql: str, args: Sequence[Any] = ()) -> list[Row]:
    return await (await conn.execute(sql, args)).fetchall()


async def execute(conn: Conn, sql: str, args: Sequence[Any] = ()) -> int:
    """The number of rows the statement changed."""
    return (await conn.execute(sql, args)).rowcount


async def execute_many(conn: Conn, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    if rows:
        async with conn.cursor() as cursor:
            await cursor.executemany(sql, rows)
