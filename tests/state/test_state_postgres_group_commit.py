"""Group commit on PostgreSQL (postgres/database.py), on the real server: writes queued
together commit in one transaction; one that fails is refused alone and the others
commit; a write that lost a race runs again."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from airspace.mesh import errors
from airspace.state.postgres.database import PostgresDatabase

pytestmark = pytest.mark.mesh


@pytest.fixture
async def database(postgres_schema):
    opened = PostgresDatabase(postgres_schema, pool_size=4, clock=time.time)
    await opened.write(lambda conn: conn.execute("CREATE TABLE notes (k text PRIMARY KEY)"))
    yield opened
    await opened.close()


def noted(key: str):
    async def insert(conn) -> int:
        await conn.execute("INSERT INTO notes VALUES (%s)", (key,))
        cursor = await conn.execute("SELECT txid_current()")
        return (await cursor.fetchone())[0]

    return insert


async def notes(database: PostgresDatabase) -> list[str]:
    async def select(conn):
        cursor = await conn.execute("SELECT k FROM notes ORDER BY k")
        return [row[0] for row in await cursor.fetchall()]

    return await database.read(select)


async def test_writes_queued_together_commit_in_one_transaction(database):
    transactions = await asyncio.gather(*(database.write(noted(k)) for k in "abcde"))
    assert len(set(transactions)) == 1
    assert await notes(database) == list("abcde")


async def test_a_failing_write_is_refused_alone_and_the_others_commit(database):
    async def refused(conn):
        await conn.execute("INSERT INTO notes VALUES ('b')")
        raise errors.FailedPrecondition("not this one")

    outcomes = await asyncio.gather(
        database.write(noted("a")),
        database.write(refused),
        database.write(noted("c")),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], errors.FailedPrecondition)
    assert outcomes[0] != outcomes[2]  # each went again in a transaction of its own
    assert await notes(database) == ["a", "c"]


async def test_a_write_that_lost_a_race_runs_again(database):
    tries = []

    async def racing(conn):
        tries.append(1)
        if len(tries) <= 2:  # as when another writer inserted the same key first, twice
            raise psycopg.errors.UniqueViolation("duplicate key")
        return await noted("z")(conn)

    await asyncio.gather(database.write(noted("y")), database.write(racing))
    assert len(tries) == 3  # in the batch, alone, then alone again after the race
    assert await notes(database) == ["y", "z"]
