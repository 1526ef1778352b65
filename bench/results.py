"""Every number one benchmark run measured, as one nested dict: what `--json` writes and
what the report and the targets read. Per-run figures divide what the meters saw during
a load's rounds by the runs that load completed in them."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping, Sequence

from bench import counts
from bench.agents import BRANCH_AGENTS
from bench.meters import Meter
from bench.paced_floor import Paced
from bench.report import Measured
from bench.targets import Verdict

# The measurements' keys, as the loads are named in bench/__main__.py and in the JSON.
TRACING_ON = "tracing_on"
# The same three-step runs through RunWorkflow: one unary call per run, the floor's shape.
UNARY_RUNS = "unary_runs"
TRACING_OFF = "tracing_off"
FAN_OUT = "fan_out"
GATEWAY_LIST = "gateway_list_runs"
ROUTER_LIST = "router_list_runs"
LANGGRAPH = "langgraph"
FLOOR = "floor"
JSON_DECIMALS = 4


def collect(
    measured: Mapping[str, Measured],
    *,
    mesh_cpu: Meter,
    mesh_counts: Meter,
    floor_cpu: Meter,
    unary_cpu: Meter,
    paced_floor: Paced,
    paced_floor_cpu: Meter,
) -> dict:
    mesh, floor, unary = measured[TRACING_ON], measured[FLOOR], measured[UNARY_RUNS]
    mesh_ms = mesh_cpu.per(mesh.result.count, scale=1000)
    floor_ms = floor_cpu.per(floor.result.count, scale=1000)
    unary_ms = unary_cpu.per(unary.result.count, scale=1000)
    paced_ms = paced_floor_cpu.per(paced_floor.completed, scale=1000)
    calls, fsyncs = counts.split(mesh_counts.per(mesh.result.count))
    return {
        "floor": _cpu_figures(floor.result.rps, floor_ms),
        # The floor paced to the mesh's runs/s: what the same hops cost at the mesh's rate.
        "floor_at_mesh_rate": _cpu_figures(paced_floor.runs_per_s, paced_ms),
        "mesh": {
            **_cpu_figures(mesh.result.rps, mesh_ms),
            "gateway_hop_ms_p50": _p50_ms(measured[GATEWAY_LIST]) - _p50_ms(measured[ROUTER_LIST]),
        },
        "mesh_unary": _cpu_figures(unary.result.rps, unary_ms),
        "counts": {
            "runs_counted": mesh.result.count,
            "internal_calls_per_run": sum(calls.values()),
            "internal_calls_per_run_by_method": calls,
            "fsyncs_per_run": sum(fsyncs.values()),
            "fsyncs_per_run_by_store": fsyncs,
        },
        "ratios": {
            **ratios(
                measured, sum(mesh_ms.values()), sum(floor_ms.values()), sum(unary_ms.values())
            ),
            # Informational: a gRPC process pays per wake-up, and a faster rate shares them.
            "mesh_cpu_over_floor_at_mesh_rate": _divided(
                sum(mesh_ms.values()), sum(paced_ms.values())
            ),
        },
        "measurements": {key: _measurement(m) for key, m in measured.items()},
    }


def _cpu_figures(runs_per_s: float, ms_by_process: dict[str, float]) -> dict:
    return {
        "runs_per_s": runs_per_s,
        "cpu_ms_per_run": sum(ms_by_process.values()),
        "cpu_ms_per_run_by_process": ms_by_process,
    }


def ratios(
    measured: Mapping[str, Measured], mesh_cpu_ms: float, floor_cpu_ms: float, unary_cpu_ms: float
) -> dict[str, float | None]:
    on, langgraph = measured[TRACING_ON], measured.get(LANGGRAPH)
    return {
        "tracing_off_over_on": _throughput(measured[TRACING_OFF], on),
        "fanout_over_slowest_branch": measured[FAN_OUT].result.percentile(50)
        / max(BRANCH_AGENTS.values()),
        "airspace_over_langgraph": _throughput(on, langgraph) if langgraph else None,
        "mesh_cpu_over_floor": _divided(mesh_cpu_ms, floor_cpu_ms),
        # Informational: RunWorkflow has the floor's shape, ExecuteRun streams 18 events more.
        "mesh_cpu_over_floor_unary": _divided(unary_cpu_ms, floor_cpu_ms),
        "gateway_hop_router_over_gateway": _throughput(
            measured[ROUTER_LIST], measured[GATEWAY_LIST]
        ),
    }


def _throughput(numerator: Measured, denominator: Measured) -> float:
    return _divided(numerator.result.rps, denominator.result.rps)


def _divided(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("inf")


def _p50_ms(measured: Measured) -> float:
    return measured.result.percentile(50) * 1000


def _measurement(measured: Measured) -> dict:
    return {
        "name": measured.name,
        "unit": measured.unit,
        "concurrency": measured.concurrency,
        "failed": measured.failed,
        **measured.result.summary(),
    }


def document(results: Mapping, verdicts: Sequence[Verdict], context: Mapping) -> dict:
    """The JSON file: how it was measured, every figure, each target and whether it is met."""
    return {
        **context,
        **results,
        "targets": {verdict.target.figure: verdict.as_json() for verdict in verdicts},
        "targets_met": all(verdict.met for verdict in verdicts),
    }


def write(path: pathlib.Path, document: Mapping) -> None:
    path.write_text(json.dumps(_rounded(document), indent=2) + "\n")


def _rounded(value):
    if isinstance(value, float):
        return round(value, JSON_DECIMALS) if value != float("inf") else None
    if isinstance(value, Mapping):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    return value
