"""A workflow version's spec is validated once and shared by its runs; another version,
tenant or document is validated afresh, and the least recently used spec goes first."""

from __future__ import annotations

import pytest
import yaml

from airspace.mesh import errors
from airspace.router.convert import to_struct
from airspace.router.spec import validate
from airspace.router.spec.compiled import CompiledSpecs
from airspace.v1 import workflow_pb2

pytestmark = pytest.mark.unit

SOURCE = """
name: review
pattern: sequential
steps:
  - {name: first, agent: reader}
"""


def stored(source: str = SOURCE, version: int = 1, tenant: str = "acme") -> workflow_pb2.Workflow:
    spec = validate(yaml.safe_load(source))
    return workflow_pb2.Workflow(
        workflow=spec.name,
        version=version,
        spec=to_struct(spec.document),
        etag=spec.etag,
        tenant=tenant,
    )


def test_runs_of_one_version_share_its_spec():
    specs = CompiledSpecs()
    first = specs.of(stored())
    assert specs.of(stored()) is first
    assert first.steps[0].agent == "reader"


def test_another_version_tenant_or_document_is_another_spec():
    specs = CompiledSpecs()
    first = specs.of(stored())
    assert specs.of(stored(version=2)) is not first
    assert specs.of(stored(tenant="globex")) is not first
    changed = specs.of(stored(SOURCE.replace("reader", "writer")))
    assert changed.steps[0].agent == "writer"


def test_the_least_recently_used_spec_goes_first():
    specs = CompiledSpecs(size=2)
    one, two = specs.of(stored(version=1)), specs.of(stored(version=2))
    assert specs.of(stored(version=1)) is one  # now the most recently used
    specs.of(stored(version=3))
    assert specs.of(stored(version=1)) is one
    assert specs.of(stored(version=2)) is not two


def test_an_invalid_document_is_refused_every_time():
    broken = stored()
    broken.spec.update({"pattern": "nonsense"})
    specs = CompiledSpecs()
    for _ in range(2):
        with pytest.raises(errors.InvalidArgument, match="pattern"):
            specs.of(broken)
