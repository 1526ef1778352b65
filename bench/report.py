"""Plain-text output of the benchmarks: the machine, a results table, then a table per
section of figures (floor, mesh CPU, counts, ratios), each with its target and verdict."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import platform
from collections.abc import Callable, Mapping, Sequence

import grpc

from bench.agents import BRANCH_AGENTS
from bench.cpu import CLIENT
from bench.loadgen import LoadResult
from bench.targets import Verdict


def machine() -> str:
    """Cores (and those this process may use), CPU model, OS, Python and grpcio."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{os.cpu_count()} cores ({usable} usable), {_cpu_model()}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"grpcio {grpc.__version__}"
    )


def _cpu_model() -> str:
    cpuinfo = pathlib.Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def table(headers: list[str], rows: list[list[str]], left: tuple[int, ...] = (0,)) -> str:
    """Columns padded to their widest cell: numbers right-aligned, the `left` columns left."""
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        padded = [
            cell.ljust(width) if i in left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


@dataclasses.dataclass(frozen=True)
class Measured:
    """One measurement's outcome, as it appears in the results table."""

    name: str
    unit: str  # what one call is: "runs" or "calls"
    concurrency: int
    result: LoadResult

    @property
    def failed(self) -> int:
        return self.result.count - self.result.ok


RESULT_HEADERS = ["measurement", "concurrency", "count", "per second", "p50 ms", "p99 ms", "failed"]


def result_row(measured: Measured) -> list[str]:
    result = measured.result
    return [
        measured.name,
        str(measured.concurrency),
        str(result.count),
        f"{result.rps:.1f} {measured.unit}/s",
        f"{result.percentile(50) * 1000:.2f}",
        f"{result.percentile(99) * 1000:.2f}",
        str(measured.failed),
    ]


@dataclasses.dataclass(frozen=True)
class Row:
    """A line of a section: a figure's value and, when it has one, its target and verdict."""

    label: str
    value: float | None  # None: not measured
    figure: str = ""  # its path in the results, which names its target
    note: str = ""


FIGURE_HEADERS = ["figure", "value", "target", "verdict", "note"]
FIGURE_TEXT_COLUMNS = (0, 3, 4)
NOT_MEASURED = "not measured"


def mark(verdict: Verdict, symbols: bool) -> str:
    """✓ or ✗ on a terminal, words where the text may be read by a program or a diff."""
    if symbols:
        return "\N{CHECK MARK}" if verdict.met else "\N{BALLOT X}"
    return "met" if verdict.met else "MISSED"


def section(title: str, rows: list[Row], verdicts: Sequence[Verdict], symbols: bool) -> str:
    by_figure = {verdict.target.figure: verdict for verdict in verdicts}
    cells = []
    for row in rows:
        verdict = by_figure.get(row.figure)
        cells.append(
            [
                row.label,
                NOT_MEASURED if row.value is None else f"{row.value:.2f}",
                verdict.target.text if verdict else "",
                mark(verdict, symbols) if verdict else "",
                row.note,
            ]
        )
    return f"{title}\n" + table(FIGURE_HEADERS, cells, left=FIGURE_TEXT_COLUMNS)


def _breakdown(values: Mapping[str, float], note: Callable[[str], str] = lambda _: "") -> list[Row]:
    return [Row(f"  {name}", value, note=note(name)) for name, value in values.items()]


def _cpu_rows(figures: Mapping, prefix: str) -> list[Row]:
    return [
        Row("runs per second", figures["runs_per_s"], f"{prefix}.runs_per_s"),
        Row("CPU ms per run, all processes", figures["cpu_ms_per_run"], f"{prefix}.cpu_ms_per_run"),
        *_breakdown(
            figures["cpu_ms_per_run_by_process"],
            lambda name: "this process, driving the load" if name == CLIENT else "",
        ),
    ]


def floor_section(results: Mapping, verdicts: Sequence[Verdict], symbols: bool) -> str:
    paced = results["floor_at_mesh_rate"]
    return section(
        "Bare gRPC floor: 2 unary hops + 3 Invoke streams, no Airspace logic",
        [
            *_cpu_rows(results["floor"], "floor"),
            Row(
                "at the mesh's rate: runs per second",
                paced["runs_per_s"],
                "floor_at_mesh_rate.runs_per_s",
                note="started at the mesh's runs/s (bench/paced_floor.py)",
            ),
            Row(
                "at the mesh's rate: CPU ms per run",
                paced["cpu_ms_per_run"],
                "floor_at_mesh_rate.cpu_ms_per_run",
            ),
        ],
        verdicts,
        symbols,
    )


def mesh_section(results: Mapping, verdicts: Sequence[Verdict], symbols: bool) -> str:
    ratio = results["ratios"]["mesh_cpu_over_floor"]
    return section(
        "Mesh CPU per three-step run through the gateway (tracing ON), from /proc",
        [
            *_cpu_rows(results["mesh"], "mesh"),
            Row("mesh CPU / floor CPU", ratio, "ratios.mesh_cpu_over_floor"),
            Row(
                "mesh CPU / floor CPU at the mesh's rate",
                results["ratios"]["mesh_cpu_over_floor_at_mesh_rate"],
                "ratios.mesh_cpu_over_floor_at_mesh_rate",
                note="informational: both at the mesh's runs/s",
            ),
        ],
        verdicts,
        symbols,
    )


def mesh_unary_section(results: Mapping, verdicts: Sequence[Verdict], symbols: bool) -> str:
    return section(
        "Mesh CPU per three-step run via RunWorkflow, one unary call (tracing ON), from /proc",
        [
            *_cpu_rows(results["mesh_unary"], "mesh_unary"),
            Row(
                "mesh CPU / floor CPU",
                results["ratios"]["mesh_cpu_over_floor_unary"],
                "ratios.mesh_cpu_over_floor_unary",
                note="the floor's shape: no events streamed back",
            ),
        ],
        verdicts,
        symbols,
    )


def counts_section(results: Mapping, verdicts: Sequence[Verdict], symbols: bool) -> str:
    counted = results["counts"]
    return section(
        f"Counts per three-step run, from the services' metrics ({counted['runs_counted']} runs)",
        [
            Row(
                "internal calls (state, policy, tracing)",
                counted["internal_calls_per_run"],
                "counts.internal_calls_per_run",
            ),
            *_breakdown(counted["internal_calls_per_run_by_method"]),
            Row("fsyncs (durable commits)", counted["fsyncs_per_run"], "counts.fsyncs_per_run"),
            *_breakdown(counted["fsyncs_per_run_by_store"]),
        ],
        verdicts,
        symbols,
    )


def ratios_section(
    results: Mapping, verdicts: Sequence[Verdict], symbols: bool, *, concurrency: int
) -> str:
    ratios = results["ratios"]
    slowest, total = max(BRANCH_AGENTS.values()), sum(BRANCH_AGENTS.values())
    hop_ms = results["mesh"]["gateway_hop_ms_p50"]
    return section(
        "Ratios, measured side by side",
        [
            Row(
                "tracing cost: runs/s OFF / ON",
                ratios["tracing_off_over_on"],
                "ratios.tracing_off_over_on",
            ),
            Row(
                "fan-out latency / slowest branch",
                ratios["fanout_over_slowest_branch"],
                "ratios.fanout_over_slowest_branch",
                note=f"branches one after another would take {total / slowest:.2f}x",
            ),
            Row(
                "Airspace (tracing ON) / LangGraph runs/s",
                ratios["airspace_over_langgraph"],
                "ratios.airspace_over_langgraph",
                note=f"Airspace {concurrency} runs in flight, LangGraph one at a time",
            ),
            Row(
                "gateway hop: ListRuns/s router / gateway",
                ratios["gateway_hop_router_over_gateway"],
                note=f"the gateway adds {hop_ms:.2f} ms at p50",
            ),
        ],
        verdicts,
        symbols,
    )


def missed(verdicts: Sequence[Verdict]) -> list[str]:
    """One line per target not met, naming the figure, its value and the target."""
    return [
        f"{v.target.figure} = {NOT_MEASURED if v.value is None else f'{v.value:.2f}'}, "
        f"target {v.target.text}"
        for v in verdicts
        if not v.met
    ]
