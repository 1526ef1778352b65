"""Growth benchmark of the PostgreSQL state store: do its hot paths stay flat as it grows?

Fills one schema with 10k runs and another with 1M (each a schema of its own on the
server, dropped afterwards; the rows of bench/growth_rows.py made by the server itself,
bench/postgres_fill.py), then times the hot paths through the store's API on each, in
turns (bench/growth.py), and prints p50 (p99) side by side with the ratio 1M / 10k,
then what the largest store takes on disk: tables with their indexes, and per run.

    python -m bench.postgres_growth [--sizes 10000,1000000] [--ops 300] [--postgres URL]
                                    [--json FILE]

Run by `make bench` (python -m bench) when a PostgreSQL server answers, not by tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import pathlib
import sys

import psycopg

from airspace.state.postgres.store import PostgresStateStore
from bench import growth, postgres_fill, report
from bench.growth_rows import COLUMNS, Filled
from bench.postgres import DEFAULT_POSTGRES_URL, postgres_problem, postgres_schema, server_url

TABLES = tuple(COLUMNS)


def disk_usage(url: str, runs: int) -> dict:
    """Bytes of each table and of its indexes, their sum, and that sum per run."""
    with psycopg.connect(url) as conn:
        tables = {
            table: {"table_bytes": heap, "index_bytes": indexes, "total_bytes": total}
            for table, heap, indexes, total in conn.execute(
                "SELECT t, pg_table_size(t), pg_indexes_size(t), pg_total_relation_size(t)"
                " FROM unnest(%s::text[]) AS t",
                (list(TABLES),),
            )
        }
    total = sum(sizes["total_bytes"] for sizes in tables.values())
    return {"tables": tables, "total_bytes": total, "bytes_per_run": total / runs}


async def measure(url: str, sizes: list[int], ops: int) -> dict:
    """The growth figures of stores of these sizes, each in a schema of its own."""
    with contextlib.ExitStack() as schemas:
        urls: dict[int, str] = {}

        def grow(size: int) -> tuple[PostgresStateStore, Filled]:
            urls[size] = schemas.enter_context(postgres_schema(url))
            filled = postgres_fill.fill(urls[size], size)
            return PostgresStateStore(urls[size], pool_size=2), filled

        found = await growth.grow_and_measure(grow, sizes, ops)
        return {**found, "disk_at_largest": disk_usage(urls[sizes[-1]], sizes[-1])}


def render(found: dict) -> str:
    fill_seconds = {int(size): took for size, took in found["fill_seconds"].items()}
    disk = found["disk_at_largest"]
    rows = [
        [
            table,
            _megabytes(sizes["table_bytes"]),
            _megabytes(sizes["index_bytes"]),
            _megabytes(sizes["total_bytes"]),
        ]
        for table, sizes in disk["tables"].items()
    ]
    rows.append(["all", "", "", _megabytes(disk["total_bytes"])])
    return "\n".join(
        [
            "PostgreSQL state store growth: p50 (p99) ms per call, through the store's API;",
            f"filled {growth.fills(fill_seconds)}.",
            growth.render(found["operations"], found["sizes"]),
            "",
            f"On disk at {found['sizes'][-1]:,} runs: {disk['bytes_per_run']:,.0f} bytes per run",
            report.table(["table", "table MB", "indexes MB", "total MB"], rows),
        ]
    )


def _megabytes(count: int) -> str:
    return f"{count / 1e6:,.1f}"


def run(sizes: list[int], ops: int = growth.DEFAULT_OPS, postgres_url: str = "") -> dict:
    """Measures and prints the comparison; its figures, or {} with no PostgreSQL server."""
    url = server_url(postgres_url)
    problem = postgres_problem(url)
    if problem:
        print(f"PostgreSQL growth benchmark skipped: {problem}")
        return {}
    print(f"filling PostgreSQL schemas with {', '.join(f'{s:,}' for s in sizes)} runs ...")
    found = asyncio.run(measure(url, sizes, ops))
    print(render(found), flush=True)
    return found


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = growth.parser("python -m bench.postgres_growth", __doc__.split("\n\n")[0])
    parser.add_argument(
        "--postgres",
        default="",
        help="the server to make schemas on (default $AIRSPACE_BENCH_POSTGRES_URL or "
        f"{DEFAULT_POSTGRES_URL})",
    )
    parser.add_argument("--json", type=pathlib.Path, metavar="FILE", help="write the figures here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    found = run(args.sizes, args.ops, args.postgres)
    if args.json:
        args.json.write_text(json.dumps({"postgres_growth": found}, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
