"""The growth sections of the benchmark at a small size, on real stores: the figures
they report and write, the PostgreSQL fill against the rows it stands for, and the
line a missing server leaves. Never how fast."""

from __future__ import annotations

import argparse
import collections
import json

import psycopg
import pytest

from airspace.v1 import approval_pb2, run_pb2
from bench import __main__ as bench_main
from bench import growth, growth_rows, postgres_fill, postgres_growth, results
from tests.state.postgres_schemas import POSTGRES_URL, require_server

pytestmark = pytest.mark.unit

SIZES = [60, 600]
OPERATIONS = {
    "CreateRun",
    "AppendEvents (with journal)",
    "GetRun",
    "ListRuns (first page)",
    "ListRuns (state RUNNING)",
    "ListRuns (state WAITING_APPROVAL)",
    "ListEvents",
    "ClaimRuns",
    "RenewRouterLease",
    "ListDueApprovals",
}


def check_operations(found: dict, sizes: list[int] = SIZES) -> None:
    keys = [str(size) for size in sizes]
    assert found["sizes"] == sizes
    assert set(found["fill_seconds"]) == set(keys)
    assert set(found["operations"]) == OPERATIONS
    for figures in found["operations"].values():
        assert set(figures) == {*keys, "ratio_p50"}
        assert all(figures[key]["p99_ms"] >= figures[key]["p50_ms"] > 0 for key in keys)
        assert figures["ratio_p50"] > 0


def test_the_postgres_section_reports_every_hot_path_and_the_disk_it_takes(tmp_path, capsys):
    require_server()
    found = postgres_growth.run(SIZES, ops=3, postgres_url=POSTGRES_URL)
    check_operations(found)
    disk = found["disk_at_largest"]
    assert set(disk["tables"]) == set(growth_rows.COLUMNS)
    runs = disk["tables"]["runs"]
    assert runs["total_bytes"] >= runs["table_bytes"] + runs["index_bytes"] > 0
    assert disk["bytes_per_run"] == disk["total_bytes"] / 600
    printed = capsys.readouterr().out
    assert "PostgreSQL state store growth" in printed and "ListDueApprovals" in printed
    # The figures are the JSON's postgres_growth key as written.
    path = tmp_path / "bench.json"
    results.write(path, results.document({"postgres_growth": found}, [], {}))
    assert set(json.loads(path.read_text())["postgres_growth"]["operations"]) == OPERATIONS


def test_the_postgres_section_leaves_no_schema_behind():
    require_server()
    with psycopg.connect(POSTGRES_URL) as conn:
        before = set(conn.execute("SELECT nspname FROM pg_namespace").fetchall())
    postgres_growth.run(SIZES, ops=1, postgres_url=POSTGRES_URL)
    with psycopg.connect(POSTGRES_URL) as conn:
        after = set(conn.execute("SELECT nspname FROM pg_namespace").fetchall())
    assert not {name for (name,) in after - before if name.startswith("bench_")}


def test_without_a_server_the_postgres_section_says_why_and_reports_nothing(capsys):
    found = postgres_growth.run(SIZES, ops=1, postgres_url="postgresql://postgres@127.0.0.1:1/x")
    assert found == {}
    line = capsys.readouterr().out.strip()
    assert line.startswith("PostgreSQL growth benchmark skipped: no PostgreSQL server answers")


def test_python_m_bench_reports_both_stores_growth_at_the_size_it_is_given():
    require_server()
    args = bench_main.parse_args(["--quick", "--growth-runs", "60"])
    found = bench_main.growth(args)
    assert set(found) == {"sqlite_growth", "postgres_growth"}
    check_operations(found["sqlite_growth"], [6, 60])
    check_operations(found["postgres_growth"], [6, 60])


def test_the_postgres_fill_writes_the_rows_the_python_rows_describe(postgres_schema):
    filled = postgres_fill.fill(postgres_schema, 900)
    expected = growth_rows.Filled([], [])
    rows: dict[str, list[tuple]] = collections.defaultdict(list)
    for batch in growth_rows.batches(900, 0, expected):
        for table, values in batch.items():
            rows[table].extend(values)
    with psycopg.connect(postgres_schema) as conn:

        def counted(sql: str) -> collections.Counter:
            return collections.Counter(tuple(row) for row in conn.execute(sql))

        assert counted("SELECT tenant, workflow, state, last_sequence FROM runs") == (
            collections.Counter((r[1], r[3], r[4], r[6]) for r in rows["runs"])
        )
        assert counted("SELECT owner, token FROM leases") == collections.Counter(
            (owner, token) for _, owner, token in rows["leases"]
        )
        assert counted("SELECT tenant, state FROM approvals") == collections.Counter(
            (a[0], a[3]) for a in rows["approvals"]
        )
        assert counted("SELECT sequence FROM events") == collections.Counter(
            (e[1],) for e in rows["events"]
        )
        assert counted("SELECT step_key FROM journal") == collections.Counter(
            (j[1],) for j in rows["journal"]
        )
        run_id, tenant, workflow, data = conn.execute(
            "SELECT run_id, tenant, workflow, data FROM runs WHERE state = %s LIMIT 1",
            (run_pb2.RUN_STATE_WAITING_APPROVAL,),
        ).fetchone()
        (approval,) = conn.execute(
            "SELECT data FROM approvals WHERE run_id = %s", (run_id,)
        ).fetchone()
    stored = run_pb2.Run.FromString(data)
    assert (stored.run_id, stored.request_id, stored.name) == (run_id, run_id, f"runs/{run_id}")
    assert (stored.tenant, stored.workflow.name) == (tenant, workflow)
    pending = approval_pb2.Approval.FromString(approval)
    assert (pending.run_id, pending.tenant) == (run_id, tenant)
    assert pending.state == approval_pb2.APPROVAL_STATE_PENDING
    assert len(filled.active) == len(expected.active) and len(filled.sample) == 900


def test_the_growth_sizes_are_a_tenth_apart_and_the_smaller_at_most_10k():
    assert bench_main.growth_sizes(quick=False, runs=None) == [10_000, 1_000_000]
    assert bench_main.growth_sizes(quick=True, runs=None) == [1_000, 10_000]
    assert bench_main.growth_sizes(quick=False, runs=5_000) == [500, 5_000]
    assert bench_main.growth_sizes(quick=True, runs=3) == [1, 3]


def test_sizes_must_be_two_or_more():
    assert growth.parse_sizes("1000, 10") == [10, 1000]
    with pytest.raises(argparse.ArgumentTypeError, match="at least two sizes"):
        growth.parse_sizes("10")
