"""The parked section from known readings: memory per run, idle CPU, runs not completed,
their targets and verdicts, the report's lines, the JSON file and the exit status."""

from __future__ import annotations

import json
import re

import pytest
from bench_helpers import measured, parked

from bench import __main__ as bench_main
from bench import parked_runs, report, results, targets

pytestmark = pytest.mark.unit

PARKED_TARGETS = {
    "parked.kb_per_parked_run",
    "parked.idle_cpu_percent",
    "parked.runs_not_completed",
}


def test_figures_are_memory_growth_per_run_and_cpu_while_parked():
    found = parked(completed=9_990)
    assert found["kb_per_parked_run"] == 6.0
    assert found["router_rss_kb_no_run"] == 100_000
    assert found["router_rss_kb_parked"] == 160_000
    assert found["idle_cpu_percent"] == 3.5
    assert found["idle_cpu_percent_by_process"] == {"router": 2.5, "state": 1.0}
    assert found["no_run_cpu_percent"] == 1.25
    assert found["state_commits_per_s"] == 2.5
    assert found["no_run_state_commits_per_s"] == 2.0
    assert found["completed"] == 9_990
    assert found["runs_not_completed"] == 10


@pytest.mark.parametrize(
    ("figures", "missed"),
    [
        ({}, set()),
        ({"grown_kb": 110_000}, {"parked.kb_per_parked_run"}),
        ({"router_cpu": 4.5}, {"parked.idle_cpu_percent"}),
        ({"completed": 9_999}, {"parked.runs_not_completed"}),
    ],
)
def test_the_parked_targets_judge_its_figures(figures, missed):
    verdicts = targets.judge({parked_runs.SECTION: parked(**figures)})
    judged = {v.target.figure: v.met for v in verdicts if v.target.section == "parked"}
    assert set(judged) == PARKED_TARGETS
    assert {figure for figure, met in judged.items() if not met} == missed


def test_a_skipped_section_has_no_verdicts_and_a_missing_figure_misses():
    verdicts = targets.judge({}, skipped=(parked_runs.SECTION,))
    assert not {v.target.figure for v in verdicts} & PARKED_TARGETS
    assert {v.target.figure for v in verdicts} == {
        t.figure for t in targets.TARGETS if t.section != "parked"
    }
    unmeasured = [v for v in targets.judge({}) if v.target.section == "parked"]
    assert len(unmeasured) == 3 and not any(v.met for v in unmeasured)


def cells(text: str, label: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(label))
    return re.split(r"\s{2,}", line.strip())


def test_the_section_shows_each_figure_with_its_target_and_what_it_was_with_no_run():
    found = {parked_runs.SECTION: parked(grown_kb=110_000)}
    text = parked_runs.section(found, targets.judge(found), symbols=False)
    assert text.splitlines()[0] == "Parked runs: 10000 runs held at an agent, then released"
    assert cells(text, "router memory") == [
        "router memory per parked run, KB",
        "11.00",
        "<= 10",
        "MISSED",
        "98 MB with no run, 205 MB parked",
    ]
    assert cells(text, "router + state CPU")[1:] == ["3.50", "<= 5", "met", "1.25 with no run"]
    assert cells(text, "  router") == ["router", "2.50", "0.50 with no run"]
    assert cells(text, "runs not completed")[1:4] == ["0.00", "<= 0", "met"]


def test_the_json_file_holds_the_parked_figures_and_their_verdicts(tmp_path):
    found = {parked_runs.SECTION: parked(router_cpu=4.5)}
    path = tmp_path / "bench.json"
    results.write(path, results.document(found, targets.judge(found), {"quick": False}))
    written = json.loads(path.read_text())
    assert set(written["parked"]) >= {
        "runs",
        "completed",
        "runs_not_completed",
        "kb_per_parked_run",
        "idle_cpu_percent",
        "idle_cpu_percent_by_process",
        "park_seconds",
        "complete_seconds",
    }
    assert written["targets"]["parked.kb_per_parked_run"] == {
        "at_most": 10,
        "value": 6.0,
        "met": True,
    }
    assert written["targets"]["parked.idle_cpu_percent"]["met"] is False
    assert written["targets_met"] is False


def verdicts_with(**figures) -> list[targets.Verdict]:
    return [
        v
        for v in targets.judge({parked_runs.SECTION: parked(**figures)})
        if v.target.section == "parked"
    ]


def test_check_exits_1_on_a_missed_parked_target_and_failures_always_do():
    missed = verdicts_with(grown_kb=110_000)
    assert bench_main.exit_status(0, missed, check=True) == 1
    assert bench_main.exit_status(0, missed, check=False) == 0
    assert bench_main.exit_status(0, verdicts_with(), check=True) == 0
    assert bench_main.exit_status(2, verdicts_with(), check=False) == 1


def test_parked_runs_that_did_not_complete_count_as_failures():
    taken = bench_main.Measurements(
        {"on": measured("on", 10)}, {parked_runs.SECTION: parked(completed=9_997)}
    )
    assert bench_main.failures(taken) == 3
    assert bench_main.failures(bench_main.Measurements(taken.measured, {})) == 0


def test_the_command_line_skips_the_section_or_sets_its_count():
    assert bench_main.skipped_sections(bench_main.parse_args(["--skip-parked"])) == ("parked",)
    args = bench_main.parse_args(["--quick", "--parked-runs", "20"])
    assert bench_main.skipped_sections(args) == () and args.parked_runs == 20
    with pytest.raises(SystemExit):
        bench_main.parse_args(["--parked-runs", "0"])


def test_the_section_prints_nothing_unmeasured():
    found = {parked_runs.SECTION: parked()}
    assert report.NOT_MEASURED not in parked_runs.section(found, [], symbols=False)


def test_runs_that_stalled_miss_every_parked_target_and_say_where_they_stalled():
    found = {
        parked_runs.SECTION: {
            "runs": 10_000,
            "runs_not_completed": 10_000,
            "stalled": "parking the runs: not done within 120 s",
        }
    }
    verdicts = [v for v in targets.judge(found) if v.target.section == "parked"]
    assert not any(v.met for v in verdicts)
    assert parked_runs.section(found, verdicts, symbols=False).endswith(
        "stalled (parking the runs: not done within 120 s)"
    )
