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


def contract() -> Traversable:
    """The sample master services agreement the contract workflows review."""
    return resources.files(_SAMPLES) / "inputs" / "msa.txt"
