"""Plain-text output of the benchmarks: the machine, a results table, a ratios table."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import platform

import grpc

from bench.loadgen import LoadResult


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
class Ratio:
    """numerator / denominator of two measurements' throughput, against an optional target."""

    name: str
    numerator: Measured
    denominator: Measured
    at_most: float | None = None
    at_least: float | None = None
    note: str = ""

    @property
    def value(self) -> float:
        below = self.denominator.result.rps
        return self.numerator.result.rps / below if below else float("inf")

    @property
    def target(self) -> str:
        if self.at_most is not None:
            return f"<= {self.at_most:.2f}"
        if self.at_least is not None:
            return f">= {self.at_least:.2f}"
        return "-"

    @property
    def verdict(self) -> str:
        if self.at_most is not None:
            return "met" if self.value <= self.at_most else "MISSED"
        if self.at_least is not None:
            return "met" if self.value >= self.at_least else "MISSED"
        return "info"


@dataclasses.dataclass(frozen=True)
class LatencyRatio:
    """A measurement's median latency / a reference duration, against a target."""

    name: str
    measured: Measured
    reference_seconds: float
    at_most: float
    note: str = ""

    @property
    def value(self) -> float:
        return self.measured.result.percentile(50) / self.reference_seconds

    @property
    def target(self) -> str:
        return f"<= {self.at_most:.2f}"

    @property
    def verdict(self) -> str:
        return "met" if self.value <= self.at_most else "MISSED"


# A row of the ratios table: of throughputs, or of a latency to a reference.
AnyRatio = Ratio | LatencyRatio

RATIO_HEADERS = ["ratio", "value", "target", "verdict", "note"]
RATIO_TEXT_COLUMNS = (0, 3, 4)


def ratio_row(ratio: AnyRatio) -> list[str]:
    return [ratio.name, f"{ratio.value:.2f}", ratio.target, ratio.verdict, ratio.note]
