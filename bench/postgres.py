"""The PostgreSQL server the benchmarks measure on, and schemas of their own on it."""

from __future__ import annotations

import contextlib
import os
import urllib.parse
import uuid
from collections.abc import Iterator

import psycopg
from psycopg import sql

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def server_url(given: str = "") -> str:
    """The server named, else $AIRSPACE_BENCH_POSTGRES_URL, else the local test server."""
    return given or os.environ.get("AIRSPACE_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)


@contextlib.contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A new, empty schema on the server, as a state URL whose connections use it."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    options = urllib.parse.urlencode({"options": f"-csearch_path={schema}"})
    try:
        yield f"{base_url}{'&' if '?' in base_url else '?'}{options}"
    finally:
        with psycopg.connect(base_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def postgres_problem(url: str) -> str:
    """Why no PostgreSQL server answers at `url` ("" when one does)."""
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        return f"no PostgreSQL server answers at {url}: {exc}".strip()
    return ""
