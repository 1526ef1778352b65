"""The CEL variables of one check, built only when a rule reads them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import celpy
from celpy import celtypes

from policy.engine.model import CheckInput


class Activation:
    def __init__(self, check: CheckInput, pii_entities: Iterable[str]):
        self._check = check
        self._pii = sorted(set(pii_entities))
        self._built: dict[str, celtypes.Value] = {}

    def values(self, names: Iterable[str]) -> dict[str, celtypes.Value]:
        for name in names:
            if name not in self._built:
                self._built[name] = celpy.json_to_cel(_BUILDERS[name](self))
        return {name: self._built[name] for name in names}

    def _subject(self) -> dict:
        subject = self._check.subject
        return {
            "principal": subject.principal,
            "tenant": subject.tenant,
            "roles": list(subject.roles),
            "kind": subject.kind,
        }

    def _resource(self) -> dict:
        resource = self._check.resource
        return {
            "kind": resource.kind,
            "name": resource.name,
            "tenant": resource.tenant,
            "attributes": as_json_numbers(resource.attributes),
        }


def as_json_numbers(value: Any) -> Any:
    """Every number as a double, as it arrives in a protobuf Struct, so a rule behaves the
    same for in-process callers and over gRPC (CEL does not compare int with double)."""
    if isinstance(value, dict):
        return {key: as_json_numbers(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [as_json_numbers(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


_BUILDERS: dict[str, Callable[[Activation], Any]] = {
    "checkpoint": lambda a: a._check.checkpoint,
    "subject": Activation._subject,
    "resource": Activation._resource,
    "payload": lambda a: as_json_numbers(a._check.payload),
    "clearances": lambda a: sorted(a._check.clearances),
    "run_id": lambda a: a._check.run_id,
    "step_key": lambda a: a._check.step_key,
    "pii": lambda a: a._pii,
}
