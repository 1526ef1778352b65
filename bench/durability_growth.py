"""Growth benchmark of the SQLite state store: do its hot paths stay flat as it grows?

Fills one store with 10k runs and another with 1M (bulk-inserted straight into the
store's own schema, the rows of bench/growth_rows.py), then times the hot paths through
the store's API on each, in turns (bench/growth.py), and prints p50 (p99) side by side
with the ratio 1M / 10k.

    python -m bench.durability_growth [--sizes 10000,1000000] [--ops 300] [--dir DIR]

Run by `make bench` (python -m bench), not by tests.
"""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import sqlite3
import sys
import tempfile
import time

from airspace.state import records
from airspace.state.sqlite import migrations
from airspace.state.sqlite.store import SqliteStateStore
from bench import growth, growth_rows
from bench.growth_rows import Filled


def fill(path: pathlib.Path, runs: int) -> Filled:
    """Bulk-loads `runs` runs with everything that goes with them.

    Indexes are dropped during the load and rebuilt after it, and the file is unjournaled
    meanwhile: minutes of row-by-row inserts become seconds."""
    migrations.apply_migrations(path)
    db = sqlite3.connect(path, isolation_level=None)
    indexes = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in indexes:
        db.execute(f"DROP INDEX {name}")
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-1000000")  # 1 GB: index builds sort in memory
    db.execute("PRAGMA temp_store=MEMORY")
    filled = Filled([], [])
    db.execute("BEGIN")
    for rows in growth_rows.batches(runs, records.micros(time.time()), filled):
        for table, values in rows.items():
            columns = growth_rows.COLUMNS[table]
            db.executemany(
                f"INSERT INTO {table} ({', '.join(columns)})"
                f" VALUES ({', '.join('?' * len(columns))})",
                values,
            )
    db.execute("COMMIT")
    for _, sql in indexes:
        db.execute(sql)
    db.execute("ANALYZE")
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    return filled


async def measure(sizes: list[int], ops: int, folder: pathlib.Path) -> dict:
    """The growth figures of stores of these sizes, in files under `folder`."""

    def grow(size: int) -> tuple[SqliteStateStore, Filled]:
        path = folder / f"state-{size}.db"
        filled = fill(path, size)
        return SqliteStateStore(path), filled

    return await growth.grow_and_measure(grow, sizes, ops)


def render(found: dict, where: str) -> str:
    fill_seconds = {int(size): took for size, took in found["fill_seconds"].items()}
    return "\n".join(
        [
            "SQLite state store growth: p50 (p99) ms per call, through the store's API",
            f"(WAL, synchronous=FULL) in {where}; filled {growth.fills(fill_seconds)}.",
            growth.render(found["operations"], found["sizes"]),
        ]
    )


def run(sizes: list[int], ops: int, where: str | None = None) -> dict:
    """Measures and prints the comparison; returns its figures."""
    with tempfile.TemporaryDirectory(prefix="airspace-growth-", dir=where) as folder:
        found = asyncio.run(measure(sizes, ops, pathlib.Path(folder)))
    print(render(found, where or tempfile.gettempdir()), flush=True)
    return found


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = growth.parser("python -m bench.durability_growth", __doc__.split("\n\n")[0])
    parser.add_argument("--dir", help="where the databases go (default: the system temp dir)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    run(args.sizes, args.ops, args.dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
