"""Fixtures of the governance attack tests: the in-process mesh of the end-to-end tests
(tests/e2e/mesh_support.py), driven through the gateway like any client."""

from __future__ import annotations

import pathlib
import sys

import pytest

# The in-process mesh lives with the end-to-end tests, audit tampering with the policy
# tests, span export to the mesh's collector with the observability tests.
TESTS = pathlib.Path(__file__).resolve().parents[1]
sys.path.extend(str(TESTS / folder) for folder in ("e2e", "policy", "observability"))

from governance_support import tokenizing_bundle  # noqa: E402
from mesh_support import Mesh  # noqa: E402


@pytest.fixture
def bundle(request, tmp_path):
    """The policy bundle the mesh loads: the default one, or with the entity a test names
    (`@pytest.mark.parametrize("bundle", ["EMAIL"], indirect=True)`) masked by TOKENIZE."""
    entity = getattr(request, "param", None)
    return tokenizing_bundle(tmp_path, entity) if entity else None


@pytest.fixture
async def mesh(tmp_path, bundle):
    started = Mesh(tmp_path, bundle=bundle)
    await started.start()
    yield started
    await started.stop()
