"""A PostgreSQL schema of its own for each test that asks for one, on the server that
AIRSPACE_TEST_POSTGRES_URL names. Without a server the test is skipped, unless
AIRSPACE_REQUIRE_POSTGRES=1 (CI), where it fails."""

from __future__ import annotations

import functools
import os
import urllib.parse
import uuid

import psycopg
import pytest
from psycopg import sql

POSTGRES_URL = os.environ.get(
    "AIRSPACE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@functools.cache
def server_problem() -> str:
    """Why no server answers at POSTGRES_URL ("" when one does); asked once per session."""
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        return f"no PostgreSQL server answers at {POSTGRES_URL}: {exc}".strip()
    return ""


def require_server() -> None:
    problem = server_problem()
    if not problem:
        return
    if os.environ.get("AIRSPACE_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{problem} (AIRSPACE_REQUIRE_POSTGRES=1)")
    pytest.skip(f"{problem}; set AIRSPACE_TEST_POSTGRES_URL to run the PostgreSQL tests")


def schema_url(schema: str) -> str:
    """POSTGRES_URL with every connection's search_path set to the schema."""
    options = urllib.parse.urlencode({"options": f"-csearch_path={schema}"})
    return f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}{options}"


@pytest.fixture
def postgres_schema():
    """The connection string of a new, empty schema, dropped after the test."""
    require_server()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    yield schema_url(schema)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
