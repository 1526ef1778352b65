"""The agent conformance kit: checks any airspace.agent.v1 agent server against the contract.

    report = await run_suite("127.0.0.1:7301", SuiteOptions(handoff_input="..."))
    report.passed        # no check failed (warnings and skips allowed)
    render(report, console)  or  as_json(report)

Each check is a small async function (checks_*.py) that talks to the agent through an
AgentProbe (probe.py), judges what came back with the contract rules (contract.py), and
returns a CheckResult saying what was sent, what came back and what the contract expects.
"""

from airspace.conformance.model import CheckResult, Report, Status, SuiteOptions
from airspace.conformance.report import as_json, render
from airspace.conformance.runner import SUITE, run_suite

__all__ = [
    "SUITE",
    "CheckResult",
    "Report",
    "Status",
    "SuiteOptions",
    "as_json",
    "render",
    "run_suite",
]
