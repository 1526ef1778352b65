"""The benchmark's own pieces at tiny sizes: tables, rounds taken in turns and their meters, the baseline."""

from __future__ import annotations

import pytest
from bench_helpers import result

from bench import report, rounds
from bench.meters import Meter

pytestmark = pytest.mark.unit


def test_tables_pad_columns_and_align_numbers_right():
    text = report.table(["name", "value"], [["a", "1.5"], ["longer name", "12.25"]])
    assert text.splitlines() == [
        "name         value",
        "-----------  -----",
        "a              1.5",
        "longer name  12.25",
    ]


def test_a_result_row_shows_rate_percentiles_and_failures():
    row = report.result_row(
        report.Measured("runs", "runs", 8, result([1.0] * 98 + [5.0, 9.0], 2.0, failed=1))
    )
    assert row == ["runs", "8", "100", "50.0 runs/s", "1.00", "5.00", "1"]


def test_percentiles_are_nearest_rank_and_merging_adds_everything_up():
    first, second = result([1.0, 2.0, 3.0], 1.0), result([4.0], 1.0, failed=1)
    both = first.merged(second)
    assert both.count == 4 and both.elapsed == 2.0 and both.rps == 2.0
    assert both.statuses == {"OK": 3, "RUN_FAILED": 1}
    assert both.percentile(50) == 0.002 and both.percentile(100) == 0.004


async def test_loads_take_turns_starting_one_later_each_round(monkeypatch):
    monkeypatch.setattr(rounds, "SETTLE_SECONDS", 0.0)
    order: list[str] = []

    def load(name: str) -> rounds.Load:
        async def call():
            if not order or order[-1] != name:
                order.append(name)

        return rounds.Load(name, "calls", 1, call)

    timing = rounds.Timing(warm_up=0.01, rounds=2, seconds=0.01)
    taken = await rounds.take_turns([load("a"), load("b"), load("c")], timing)
    assert "".join(order) == "abc" + "abc" + "bca"  # warm-ups, round 1, round 2
    assert [m.name for m in taken] == ["a", "b", "c"]
    assert all(m.result.count > 0 and m.failed == 0 for m in taken)


async def test_a_loads_meters_read_around_its_own_rounds_only(monkeypatch):
    monkeypatch.setattr(rounds, "SETTLE_SECONDS", 0.0)
    calls = {"metered": 0, "other": 0}

    def load(name: str, meters=()) -> rounds.Load:
        async def call():
            calls[name] += 1

        return rounds.Load(name, "calls", 1, call, meters=meters)

    meter = Meter(lambda: dict(calls))
    timing = rounds.Timing(warm_up=0.01, rounds=3, seconds=0.01)
    metered, _ = await rounds.take_turns([load("metered", (meter,)), load("other")], timing)
    assert meter.moved["metered"] == metered.result.count  # warm-up calls left out
    assert meter.moved["other"] == 0


def test_the_langgraph_baseline_runs_three_steps(tmp_path):
    pytest.importorskip("langgraph.checkpoint.sqlite")
    from bench.baseline import ThreeStepGraph

    graph = ThreeStepGraph(tmp_path / "checkpoints.sqlite")
    try:
        assert graph.run_once()["done_by"] == ["first", "second", "third"]
    finally:
        graph.close()


def test_the_machine_line_names_the_cores():
    assert "cores" in report.machine()


async def test_meters_nest_so_the_first_reads_outside_the_others(monkeypatch):
    monkeypatch.setattr(rounds, "SETTLE_SECONDS", 0.0)
    readings: list[str] = []

    def reading(name: str) -> Meter:
        return Meter(lambda: readings.append(name) or {})

    async def call():
        pass

    load = rounds.Load("a", "calls", 1, call, meters=(reading("outer"), reading("inner")))
    await rounds.take_turns([load], rounds.Timing(warm_up=0.01, rounds=1, seconds=0.01))
    assert readings == ["outer", "inner", "inner", "outer"]
