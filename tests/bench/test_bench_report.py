"""The benchmark's own pieces at tiny sizes: tables, ratios, rounds taken in turns, the baseline."""

from __future__ import annotations

import collections

import pytest

from bench import __main__ as bench_main
from bench import report, rounds
from bench.loadgen import LoadResult

pytestmark = pytest.mark.unit


def result(latencies_ms: list[float], elapsed: float, failed: int = 0) -> LoadResult:
    statuses = collections.Counter({"OK": len(latencies_ms) - failed})
    if failed:
        statuses["RUN_FAILED"] = failed
    latencies = [ms / 1000 for ms in latencies_ms]
    counted = len(latencies)
    return LoadResult(latencies, statuses, collections.Counter(), elapsed, elapsed, counted)


def measured(name: str, per_second: float, p50_ms: float = 10.0) -> report.Measured:
    return report.Measured(name, "runs", 4, result([p50_ms] * int(per_second), 1.0))


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


@pytest.mark.parametrize(
    ("off", "on", "verdict"), [(110, 100, "met"), (115, 100, "met"), (120, 100, "MISSED")]
)
def test_the_tracing_ratio_is_met_at_or_below_its_target(off, on, verdict):
    found = bench_main.ratios(
        {
            "on": measured("on", on),
            "off": measured("off", off),
            "gateway": measured("gateway", 50, p50_ms=3.0),
            "router": measured("router", 100, p50_ms=2.0),
            "fan-out": measured("fan-out", 2, p50_ms=440.0),
        }
    )
    tracing, fan_out, hop = found
    assert tracing.verdict == verdict
    assert report.ratio_row(fan_out) == [
        "fan-out latency / slowest branch",
        "1.10",
        "<= 1.25",
        "met",
        "branches one after another would take 1.75x",
    ]
    assert report.ratio_row(hop) == [
        "gateway hop: ListRuns/s router / gateway",
        "2.00",
        "-",
        "info",
        "the gateway adds 1.00 ms at p50",
    ]


def test_the_langgraph_ratio_appears_when_the_baseline_ran():
    found = bench_main.ratios(
        {
            "on": measured("on", 300),
            "off": measured("off", 300),
            "gateway": measured("gateway", 50),
            "router": measured("router", 50),
            "langgraph": measured("langgraph", 200),
            "fan-out": measured("fan-out", 2, p50_ms=440.0),
        }
    )
    assert [(r.name, r.value, r.target, r.verdict) for r in found][2] == (
        "Airspace (tracing ON) / LangGraph runs/s",
        1.5,
        ">= 1.00",
        "met",
    )


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
