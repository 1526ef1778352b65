"""Figures of a benchmark run from known inputs: CPU from /proc lines, counts from metrics,
ratios and per-run figures, targets and their verdicts, the sections and the JSON file."""

from __future__ import annotations

import json
import os
import re

import pytest
from bench_helpers import measured, parked
from prometheus_client import CollectorRegistry, Counter, generate_latest

from bench import counts, cpu, paced_floor, parked_runs, report, results, targets
from bench.meters import Meter

pytestmark = pytest.mark.unit


def test_cpu_seconds_add_user_and_system_time_whatever_the_command_name():
    fields = ["S", *["0"] * 10, "250", "50", *["0"] * 30]  # state, ..., utime, stime, ...
    stat = f"42 (a (tricky) name) {' '.join(fields)}"
    assert cpu.stat_cpu_seconds(stat) == 300 / cpu.TICKS_PER_SECOND
    assert cpu.cpu_seconds(os.getpid()) > 0


def test_a_meter_adds_up_each_span_and_counts_new_readings_from_zero():
    readings = iter([{"a": 1.0}, {"a": 3.0}, {"a": 10.0}, {"a": 11.0, "b": 4.0}])
    meter = Meter(lambda: next(readings))
    for _ in range(2):
        meter.start()
        meter.stop()
    assert meter.moved == {"a": 3.0, "b": 4.0}
    assert meter.per(2, scale=1000) == {"a": 1500.0, "b": 2000.0}
    assert meter.per(0) == {"a": 0.0, "b": 0.0}


def exposition() -> str:
    registry = CollectorRegistry()
    handled = Counter(
        "airspace_grpc_server_handled_total",
        "RPCs",
        ("grpc_service", "grpc_method", "grpc_type", "grpc_code"),
        registry=registry,
    )
    handled.labels("airspace.state.v1.StateService", "AppendEvents", "unary", "OK").inc(5)
    handled.labels("airspace.state.v1.StateService", "AppendEvents", "unary", "ABORTED").inc()
    handled.labels("airspace.policy.v1.PolicyService", "Check", "unary", "OK").inc(2)
    Counter("airspace_state_commits_total", "commits", registry=registry).inc(3)
    Counter("airspace_unrelated_total", "other", registry=registry).inc(9)
    return generate_latest(registry).decode()


def test_counts_are_calls_by_method_whatever_their_code_and_commits_by_store():
    assert counts.counted(exposition()) == {
        (counts.CALLS, "StateService/AppendEvents"): 6.0,
        (counts.CALLS, "PolicyService/Check"): 2.0,
        (counts.FSYNCS, "state_store"): 3.0,
    }


def test_per_run_counts_split_into_calls_and_fsyncs_largest_first_without_idle_methods():
    per_run = {
        (counts.CALLS, "PolicyService/Check"): 2.0,
        (counts.CALLS, "StateService/AppendEvents"): 3.0,
        (counts.CALLS, "StateService/PutAgent"): 0.0,
        (counts.FSYNCS, "state_store"): 1.5,
    }
    calls, fsyncs = counts.split(per_run)
    assert list(calls.items()) == [("StateService/AppendEvents", 3.0), ("PolicyService/Check", 2.0)]
    assert fsyncs == {"state_store": 1.5}


@pytest.mark.parametrize(
    ("target", "value", "met"),
    [
        (targets.Target("x", at_most=1.15), 1.15, True),
        (targets.Target("x", at_most=1.15), 1.16, False),
        (targets.Target("x", at_least=1.5), 1.5, True),
        (targets.Target("x", at_least=1.5), 1.4, False),
        (targets.Target("x", at_least=1.5), None, False),
    ],
)
def test_a_target_is_met_within_its_bound_and_never_when_not_measured(target, value, met):
    assert targets.Verdict(target, value).met is met


def test_every_target_names_a_figure_the_results_hold():
    found = {**collected(), parked_runs.SECTION: parked()}
    for target in targets.TARGETS:
        assert targets.figure(found, target.figure) is not None, target.figure
    assert targets.figure(found, "ratios.no_such_ratio") is None
    assert targets.figure(found, "counts") is None  # a section, not a number


def meter(moved: dict) -> Meter:
    taken = Meter(dict)
    taken.moved.update(moved)
    return taken


def collected(with_langgraph: bool = True) -> dict:
    loads = {
        results.TRACING_ON: measured("on", 100),
        results.UNARY_RUNS: measured("unary", 200),
        results.TRACING_OFF: measured("off", 110),
        results.FLOOR: measured("floor", 400),
        results.GATEWAY_LIST: measured("gateway", 50, p50_ms=3.0),
        results.ROUTER_LIST: measured("router", 100, p50_ms=2.0),
        results.FAN_OUT: measured("fan-out", 2, p50_ms=440.0),
    }
    if with_langgraph:
        loads[results.LANGGRAPH] = measured("langgraph", 80)
    return results.collect(
        loads,
        # 100 mesh runs and 400 floor runs were measured.
        mesh_cpu=meter({"router": 1.0, "state": 0.5, "client": 0.1}),
        mesh_counts=meter({(counts.CALLS, "StateService/AppendEvents"): 300.0}),
        floor_cpu=meter({"orchestrator": 1.6, "client": 0.4}),
        # 200 RunWorkflow runs.
        unary_cpu=meter({"router": 1.2, "state": 0.8, "client": 0.2}),
        # 50 floor runs at the mesh's rate, in 2 s.
        paced_floor=paced_floor.Paced(completed=50, failed=0, seconds=2.0),
        paced_floor_cpu=meter({"orchestrator": 0.35, "client": 0.05}),
    )


def test_results_hold_per_run_figures_and_ratios_taken_side_by_side():
    found = collected()
    assert found["mesh"]["cpu_ms_per_run_by_process"] == pytest.approx(
        {"router": 10.0, "state": 5.0, "client": 1.0}
    )
    assert found["mesh"]["cpu_ms_per_run"] == pytest.approx(16.0)
    assert found["floor"]["cpu_ms_per_run"] == pytest.approx(5.0)
    assert found["floor"]["runs_per_s"] == 400
    assert found["mesh_unary"]["cpu_ms_per_run_by_process"] == pytest.approx(
        {"router": 6.0, "state": 4.0, "client": 1.0}
    )
    assert found["mesh_unary"]["runs_per_s"] == 200
    assert found["floor_at_mesh_rate"]["cpu_ms_per_run"] == pytest.approx(8.0)
    assert found["floor_at_mesh_rate"]["runs_per_s"] == 25
    assert found["counts"]["internal_calls_per_run"] == 3.0
    assert found["counts"]["fsyncs_per_run"] == 0
    assert found["mesh"]["gateway_hop_ms_p50"] == pytest.approx(1.0)
    assert found["ratios"] == pytest.approx(
        {
            "tracing_off_over_on": 1.1,
            "fanout_over_slowest_branch": 1.1,
            "airspace_over_langgraph": 1.25,
            "mesh_cpu_over_floor": 3.2,
            "mesh_cpu_over_floor_unary": 2.2,
            "mesh_cpu_over_floor_at_mesh_rate": 2.0,
            "gateway_hop_router_over_gateway": 2.0,
        }
    )
    assert collected(with_langgraph=False)["ratios"]["airspace_over_langgraph"] is None


def cells(text: str, label: str) -> list[str]:
    """The cells of the table line that starts with `label` (cells are 2+ spaces apart)."""
    line = next(line for line in text.splitlines() if line.startswith(label))
    return re.split(r"\s{2,}", line.strip())


def test_sections_show_each_figure_with_its_target_and_verdict():
    found = collected()
    verdicts = targets.judge(found, skipped=(parked_runs.SECTION,))
    mesh = report.mesh_section(found, verdicts, symbols=False)
    assert cells(mesh, "mesh CPU / floor CPU") == ["mesh CPU / floor CPU", "3.20", "<= 2", "MISSED"]
    assert cells(mesh, "  client") == ["client", "1.00", "this process, driving the load"]
    assert cells(mesh, "mesh CPU / floor CPU at the mesh's rate") == [
        "mesh CPU / floor CPU at the mesh's rate",
        "2.00",
        "informational: both at the mesh's runs/s",
    ]
    floor_rows = report.floor_section(found, verdicts, symbols=False)
    assert cells(floor_rows, "at the mesh's rate: CPU ms per run")[1] == "8.00"
    unary = report.mesh_unary_section(found, verdicts, symbols=False)
    assert cells(unary, "mesh CPU / floor CPU") == [
        "mesh CPU / floor CPU",
        "2.20",
        "the floor's shape: no events streamed back",
    ]  # informational: no target, so no verdict
    assert cells(unary, "CPU ms per run")[1] == "11.00"
    ratios = report.ratios_section(found, verdicts, symbols=True, concurrency=16)
    assert cells(ratios, "fan-out")[1:4] == ["1.10", "<= 1.1", "\N{CHECK MARK}"]
    assert cells(ratios, "Airspace")[1:4] == ["1.25", ">= 1.5", "\N{BALLOT X}"]
    counted = report.counts_section(found, verdicts, symbols=False)
    assert cells(counted, "  StateService/AppendEvents") == ["StateService/AppendEvents", "3.00"]
    assert cells(counted, "fsyncs") == ["fsyncs (durable commits)", "0.00", "<= 3", "met"]
    assert report.missed(verdicts) == [
        "ratios.mesh_cpu_over_floor = 3.20, target <= 2",
        "ratios.airspace_over_langgraph = 1.25, target >= 1.5",
    ]


def test_the_json_file_holds_figures_targets_and_verdicts(tmp_path):
    found = collected(with_langgraph=False)
    verdicts = targets.judge(found)
    path = tmp_path / "bench.json"
    results.write(path, results.document(found, verdicts, {"quick": True}))
    written = json.loads(path.read_text())
    assert written["quick"] is True
    assert written["ratios"]["airspace_over_langgraph"] is None
    assert written["targets"]["ratios.airspace_over_langgraph"] == {
        "at_least": 1.5,
        "value": None,
        "met": False,
    }
    assert written["targets"]["ratios.tracing_off_over_on"]["met"] is True
    assert written["targets_met"] is False
