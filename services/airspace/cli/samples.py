"""The sample workflows and their sample inputs, installed with the package
(the repository's workflows/ folder is the package `airspace.workflows`)."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

_SAMPLES = "airspace.workflows"


def workflows() -> list[Traversable]:
    """The sample workflow documents, by name."""
    found = [item for item in resources.files(_SAMPLES).iterdir() if item.name.endswith(".yaml")]
    return sorted(found, key=lambda item: item.name)


def sample_input(name: str) -> Traversable:
    """A sample input under workflows/inputs, e.g. "tickets/unclear.json"."""
    found = resources.files(_SAMPLES) / "inputs"
    for part in name.split("/"):
        found = found / part
    return found


def workflow_schema() -> Traversable:
    """The JSON Schema of workflow documents (checked against the router's validator)."""
    return resources.files(_SAMPLES) / "schema" / "workflow.schema.json"


def contract() -> Traversable:
    """The sample master services agreement the contract workflows review."""
    return sample_input("msa.txt")
