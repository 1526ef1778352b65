"""The CEL variables of one check, built only when a rule reads them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airspace.policy.engine.conditions import Values
from airspace.policy.engine.model import CheckInput


class Activation:
    def __init__(self, check: CheckInput, pii_entities: Iterable[str]):
        self._check = check
        self._pii = sorted(set(pii_entities))
        self._values = Values()

    def values(self, names: Iterable[str]) -> Values:
        """`names` and any variable built before, converted once for every rule."""
        for name in names:
            if name not in self._values:
                self._values.add(name, self.plain(name))
        return self._values

    def plain(self, name: str) -> Any:
        """One variable as plain JSON; see conditions.VARIABLES."""
        check = self._check
        match name:
            case "subject":
                return {
                    "principal": check.subject.principal,
                    "tenant": check.subject.tenant,
                    "roles": list(check.subject.roles),
                    "kind": check.subject.kind,
                }
            case "resource":
                return {
                    "kind": check.resource.kind,
                    "name": check.resource.name,
                    "tenant": check.resource.tenant,
                    "attributes": as_json_numbers(check.resource.attributes),
                }
            case "payload":
                return as_json_numbers(check.payload)
            case "clearances":
                return sorted(check.clearances)
            case "pii":
                return self._pii
            case "checkpoint" | "run_id" | "step_key":
                return getattr(check, name)
        raise KeyError(name)


def as_json_numbers(value: Any) -> Any:
    """Every number as a double, as it arrives in a protobuf Struct, so a rule behaves the
    same for in-process callers and over gRPC: CEL compares an int with a double by value
    but refuses to mix them in arithmetic (`payload.count + 1.0`)."""
    if isinstance(value, dict):
        return {key: as_json_numbers(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [as_json_numbers(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
