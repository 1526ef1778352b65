"""Sample agent: checks extracted contract terms against the rules in the step's parameters.

Reads the fields from the input's data (or the context's, as the extractor left them there);
when only contract text is given it extracts the fields itself.
"""

from __future__ import annotations

import dataclasses

from airspace.agents.kit import Agent, AgentFailure, Reply, Task
from airspace.agents.samples.contract_extractor import extract_contract, format_money

# The fields the rules read; the share of them present is the checker's confidence.
CHECKED_FIELDS = (
    "termination_notice_days",
    "liability_cap_amount",
    "governing_law",
    "payment_amount",
)


@dataclasses.dataclass(frozen=True)
class Rules:
    min_notice_days: int = 30
    require_liability_cap: bool = True
    allowed_governing_laws: tuple[str, ...] = (
        "England and Wales",
        "Germany",
        "Ireland",
        "the Netherlands",
    )
    # In the contract's currency: the sample does no currency conversion.
    approval_threshold: float = 100_000.0

    @classmethod
    def from_parameters(cls, parameters: dict) -> Rules:
        """Step parameters override the defaults; a parameter of the wrong type is bad input."""
        defaults = cls()
        values = {}
        for field in dataclasses.fields(cls):
            if field.name not in parameters:
                continue
            raw = parameters[field.name]
            default = getattr(defaults, field.name)
            if isinstance(default, bool):
                ok = isinstance(raw, bool)
            elif isinstance(default, tuple):
                ok = isinstance(raw, list) and all(isinstance(item, str) for item in raw)
                raw = tuple(raw) if ok else raw
            else:
                ok = isinstance(raw, int | float) and not isinstance(raw, bool) and raw >= 0
            if not ok:
                raise AgentFailure(
                    "INVALID_INPUT",
                    f"parameter {field.name} must be a {type(default).__name__}",
                    retryable=False,
                )
            values[field.name] = raw
        return cls(**values)


def check_contract(fields: dict, rules: Rules) -> dict:
    """Findings for each rule; the contract is compliant when no high-severity rule fails."""
    findings = [
        _check_notice(fields.get("termination_notice_days"), rules),
        _check_liability_cap(fields.get("liability_cap_amount"), rules),
        _check_governing_law(fields.get("governing_law"), rules),
        _check_amount(fields.get("payment_amount"), fields.get("payment_currency"), rules),
    ]
    return {
        "compliant": not any(f["severity"] == "high" and not f["passed"] for f in findings),
        "requires_approval": any(
            f["rule"] == "approval_threshold" and not f["passed"] for f in findings
        ),
        "findings": findings,
    }


def coverage(fields: dict) -> float:
    """Share of the checked fields that were found: the checker's confidence in its verdict."""
    found = sum(1 for name in CHECKED_FIELDS if fields.get(name) is not None)
    return round(found / len(CHECKED_FIELDS), 2)


def _finding(rule: str, severity: str, passed: bool, message: str) -> dict:
    return {"rule": rule, "severity": severity, "passed": passed, "message": message}


def _check_notice(days, rules: Rules) -> dict:
    if days is None:
        return _finding("min_notice_days", "high", False, "No termination notice period found.")
    passed = days >= rules.min_notice_days
    verdict = "meets" if passed else "is below"
    return _finding(
        "min_notice_days",
        "high",
        passed,
        f"Termination notice of {days:g} days {verdict} the minimum of {rules.min_notice_days:g}.",
    )


def _check_liability_cap(cap, rules: Rules) -> dict:
    if cap is not None:
        return _finding("require_liability_cap", "high", True, "Liability is capped.")
    return _finding(
        "require_liability_cap",
        "high" if rules.require_liability_cap else "low",
        not rules.require_liability_cap,
        "No liability cap found.",
    )


def _check_governing_law(law, rules: Rules) -> dict:
    if law is None:
        return _finding("allowed_governing_laws", "high", False, "No governing law found.")
    allowed = {name.casefold() for name in rules.allowed_governing_laws}
    passed = law.casefold() in allowed
    verdict = "is" if passed else "is not"
    return _finding(
        "allowed_governing_laws",
        "high",
        passed,
        f"Governing law {law} {verdict} on the allowed list.",
    )


def _check_amount(amount, currency, rules: Rules) -> dict:
    if amount is None:
        return _finding("approval_threshold", "medium", False, "No payment amount found.")
    passed = amount < rules.approval_threshold
    verdict = "is under" if passed else "needs approval: it reaches"
    return _finding(
        "approval_threshold",
        "medium",
        passed,
        f"Payment of {format_money(amount, currency)} {verdict} the threshold of "
        f"{format_money(rules.approval_threshold, currency)}.",
    )


agent = Agent(
    name="compliance-checker",
    version="1.0.0",
    description="Checks extracted contract terms against notice, liability, governing-law and "
    "approval-threshold rules.",
    skills=[
        {
            "id": "check-contract-compliance",
            "name": "Check contract compliance",
            "description": "Returns findings with severity and an overall pass or fail.",
            "tags": ["contracts", "compliance"],
        }
    ],
)


@agent.handler
def check(task: Task) -> Reply:
    fields = {**task.context_data, **task.data}
    if not any(name in fields for name in CHECKED_FIELDS):
        if not task.text.strip():
            raise AgentFailure(
                "INVALID_INPUT", "no contract fields or text to check", retryable=False
            )
        fields = extract_contract(task.text)
    result = check_contract(fields, Rules.from_parameters(task.parameters))
    failed = [f for f in result["findings"] if not f["passed"]]
    verdict = "compliant" if result["compliant"] else "not compliant"
    return Reply(
        text=f"Contract is {verdict}: {len(failed)} of {len(result['findings'])} checks raised findings.",
        data=result,
        confidence=coverage(fields),
    )


if __name__ == "__main__":
    agent.serve()
