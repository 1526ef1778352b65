"""The suite's report for people (rich text) and for scripts (JSON); no gRPC here."""

from __future__ import annotations

import dataclasses

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from airspace.conformance.model import CheckResult, Report, Status

_STYLES = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "bold red", Status.SKIP: "dim"}


def render(report: Report, out: Console, *, verbose: bool = False) -> None:
    """One line per check; what was sent and received, and what to fix, for each failure or
    warning (for every check with `verbose`)."""
    title = f"conformance of {report.agent or 'the agent'} at {report.target}"
    out.print(Text(title, style="bold"))
    for result in report.results:
        line = Text.assemble(
            (f" {result.status.name:<4} ", _STYLES[result.status]),
            (f" {result.check:<24}", "bold"),
            result.title,
        )
        if result.status is Status.SKIP and result.hint:
            line.append(f" — {result.hint}", style="dim")
        out.print(line)
        if result.status in (Status.FAIL, Status.WARN) or (
            verbose and result.status is Status.PASS
        ):
            out.print(_details(result))
    out.print(_summary(report))


def _details(result: CheckResult) -> Padding:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", min_width=8)
    grid.add_column()
    grid.add_row("expected", result.expected)
    for exchange in result.exchanges:
        grid.add_row("call", Text(exchange.label, style="bold"))
        for label, lines in (("sent", exchange.sent), ("received", exchange.received)):
            for index, line in enumerate(lines):
                grid.add_row(label if index == 0 else "", line)
    for index, problem in enumerate(result.problems):
        grid.add_row(
            "problems" if index == 0 else "", Text(f"• {problem}", style=_STYLES[result.status])
        )
    if result.hint and result.status is not Status.PASS:
        grid.add_row("fix", result.hint)
    return Padding(grid, (0, 0, 1, 7))


def _summary(report: Report) -> Text:
    counts = [
        f"{report.count(Status.PASS)} passed",
        f"{report.count(Status.WARN)} warned",
        f"{report.count(Status.FAIL)} failed",
        f"{report.count(Status.SKIP)} skipped",
    ]
    verdict = ("CONFORMS", "green") if report.passed else ("DOES NOT CONFORM", "bold red")
    return Text.assemble(
        verdict, f"  {len(report.results)} checks: {', '.join(counts)} in {report.seconds:.2f}s"
    )


def as_json(report: Report) -> dict:
    return {
        "target": report.target,
        "agent": report.agent,
        "passed": report.passed,
        "seconds": round(report.seconds, 3),
        "results": [
            {**dataclasses.asdict(result), "status": result.status.value}
            for result in report.results
        ],
    }
