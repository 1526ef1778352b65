"""`python -m bench.cel_speed`: the time the default bundle's CEL rules take for one check
of each checkpoint they guard, on the compiled binding the conditions use and on
cel-python's interpreter they replaced, side by side in one run. Needs the `bench` extra:
`pip install -e '.[bench]'`.

Each check builds its variables anew and turns them into the evaluator's values once for
all its rules (the interpreter's `json_to_cel`, the binding's Values), as a decision does.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import celpy

from airspace.policy.engine.activation import Activation
from airspace.policy.engine.bundle import Rule
from airspace.policy.engine.loader import load_bundle
from airspace.policy.engine.model import CheckInput, Resource, Subject
from airspace.policy.service.settings import PolicySettings

# One check per checkpoint the default rules read, with the attributes they look at.
_RESOURCES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "approval.decide": ("approval", "a-1", {"requested_by": "user:bob"}),
    "agent.action": ("action", "payments.refund", {"requires_approval": False}),
    "run.start": ("run", "r-1", {"max_cost_usd": 250.0}),
    "step.output": ("step", "s-1", {}),
}
_PII = ("EMAIL",)


def _check(checkpoint: str) -> CheckInput:
    kind, name, attributes = _RESOURCES[checkpoint]
    return CheckInput(
        checkpoint=checkpoint,
        subject=Subject(principal="user:ann", tenant="acme", roles=("operator",), kind="user"),
        resource=Resource(kind=kind, name=name, tenant="acme", attributes=attributes),
        payload={"text": "a short answer", "score": 0.5},
        clearances=frozenset(),
        run_id="r-1",
    )


def _per_call_us(call: Callable[[], Any], seconds: float) -> float:
    """The median over five rounds of the mean time of one call, in microseconds."""
    call()  # warm up
    rounds = []
    for _ in range(5):
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / 5:
            call()
            count += 1
        rounds.append(elapsed / count * 1e6)
    return statistics.median(rounds)


def _compare(check: CheckInput, rules: tuple[Rule, ...], seconds: float) -> tuple[float, float]:
    """The time of one check's rules on the interpreter and on the binding, each building
    the check's variables anew as a check does (once per check, shared by its rules)."""
    environment = celpy.Environment()
    programs = [environment.program(environment.compile(r.condition.source)) for r in rules]
    names = {name for rule in rules for name in rule.condition.variables}

    def old() -> list[bool]:
        activation = Activation(check, _PII)
        values = {name: celpy.json_to_cel(activation.plain(name)) for name in names}
        return [bool(program.evaluate(values)) for program in programs]

    def new() -> list[bool]:
        values = Activation(check, _PII).values(names)
        return [rule.condition.evaluate(values) for rule in rules]

    assert old() == new(), f"{check.checkpoint}: the two evaluators disagree"
    return _per_call_us(old, seconds), _per_call_us(new, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per check and evaluator")
    args = parser.parse_args()
    bundle = load_bundle(PolicySettings().bundle_path)
    print(
        f"{'checkpoint':<16} {'rules':>5} {'cel-python us':>14} {'binding us':>11} {'speed-up':>9}"
    )
    per_rule = []
    for checkpoint in _RESOURCES:
        rules = bundle.rules_for(checkpoint)
        old, new = _compare(_check(checkpoint), rules, args.seconds)
        per_rule.append((old / len(rules), new / len(rules)))
        print(f"{checkpoint:<16} {len(rules):>5} {old:>14.1f} {new:>11.1f} {old / new:>8.1f}x")
    old, new = (statistics.mean(column) for column in zip(*per_rule, strict=True))
    print(f"{'per rule (mean)':<22} {old:>14.1f} {new:>11.1f} {old / new:>8.1f}x")


if __name__ == "__main__":
    main()
