"""The scale-out section from known measurements: ratios to one PostgreSQL router, the table."""

from __future__ import annotations

import pytest
from bench_helpers import measured

from bench import scale_out
from bench.scale_out import Setup

pytestmark = pytest.mark.unit


def taken() -> dict:
    return {
        Setup("sqlite", 1): measured("sqlite", 30),
        Setup("postgres", 1): measured("pg1", 20),
        Setup("postgres", 2): measured("pg2", 36),
        Setup("postgres", 4): measured("pg4", 50, p50_ms=40),
    }


def test_postgres_meshes_are_ratios_to_one_router_and_sqlite_stands_apart():
    found = scale_out.figures(taken())
    assert found["postgres, 2 routers"]["ratio_to_one_router"] == 1.8
    assert found["postgres, 4 routers"]["ratio_to_one_router"] == 2.5
    assert found["postgres, 4 routers"]["p50_ms"] == 40.0
    assert found["sqlite, 1 router"]["ratio_to_one_router"] is None
    assert found["sqlite, 1 router"]["runs_per_s"] == 30


def test_the_table_names_every_mesh_with_its_ratio():
    lines = scale_out.render(scale_out.figures(taken())).splitlines()
    assert lines[0].split()[:2] == ["mesh", "routers"]
    rows = {line.split(",")[0] + line.split(",")[1].split()[0]: line for line in lines[2:]}
    assert rows["postgres1"].endswith("1.00x")
    assert rows["postgres4"].endswith("2.50x")
    assert not rows["sqlite1"].endswith("x")
