"""What the suite is told, and what it finds: options, check results and the report."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence


class Status(enum.Enum):
    PASS = "pass"
    WARN = "warn"  # works, but not as the contract recommends; does not fail the suite
    FAIL = "fail"
    SKIP = "skip"


@dataclasses.dataclass(frozen=True)
class SuiteOptions:
    # Deadline of each call to the agent, in seconds.
    timeout: float = 10.0
    # Input of the ordinary invocations; default: the card's first skill example.
    input_text: str | None = None
    # An input that makes the agent hand off (when its card declares handoff).
    handoff_input: str | None = None
    # The agent offered as handoff target.
    handoff_target: str = "conformance-peer"
    # An input that makes the agent request one of `actions` (when its card declares actions).
    action_input: str | None = None
    actions: tuple[str, ...] = ()
    # Check ids to run (prefixes allowed, e.g. "errors"); empty runs them all.
    only: tuple[str, ...] = ()


@dataclasses.dataclass
class Exchange:
    """One call of a check: what the suite sent and what came back, one line each."""

    label: str
    sent: list[str] = dataclasses.field(default_factory=list)
    received: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class CheckResult:
    check: str
    title: str
    status: Status
    # What the contract expects, in one sentence.
    expected: str
    exchanges: list[Exchange] = dataclasses.field(default_factory=list)
    # What did not match the contract (FAIL) or its recommendations (WARN).
    problems: list[str] = dataclasses.field(default_factory=list)
    # How to fix it, or why the check was skipped.
    hint: str = ""


@dataclasses.dataclass
class Report:
    target: str
    agent: str
    results: list[CheckResult]
    seconds: float

    def count(self, status: Status) -> int:
        return sum(result.status is status for result in self.results)

    @property
    def passed(self) -> bool:
        return self.count(Status.FAIL) == 0


def judge(result: CheckResult, errors: Sequence[str], warnings: Sequence[str] = ()) -> None:
    """Adds problems to a result: any error fails it, warnings alone make it WARN."""
    result.problems += [*errors, *warnings]
    if errors:
        result.status = Status.FAIL
    elif warnings and result.status is Status.PASS:
        result.status = Status.WARN


def skip(result: CheckResult, why: str) -> None:
    result.status = Status.SKIP
    result.hint = why
