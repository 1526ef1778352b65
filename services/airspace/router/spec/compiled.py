"""The spec of a stored workflow version, validated once.

A version never changes, so every run of it can share one spec: a router holding
thousands of runs of a workflow (queued, or parked at a slow agent) holds one copy
instead of one each, and a run's start does not validate the document again.
"""

from __future__ import annotations

from airspace.router.convert import to_dict
from airspace.router.lru import Lru
from airspace.router.spec.model import WorkflowSpec
from airspace.router.spec.validate import validate
from airspace.v1 import workflow_pb2

# Workflow versions whose spec is kept; past it the least recently used one goes.
MAX_SPECS = 256

# The etag is the document's digest: a version deleted and created again with another
# document is another key.
_Key = tuple[str, str, int, str]


class CompiledSpecs:
    def __init__(self, size: int = MAX_SPECS):
        self._specs: Lru[_Key, WorkflowSpec] = Lru(size)

    def of(self, workflow: workflow_pb2.Workflow) -> WorkflowSpec:
        """The workflow's spec (InvalidArgument when its document is not valid)."""
        key = (workflow.tenant, workflow.workflow, workflow.version, workflow.etag)
        spec = self._specs.get(key)
        if spec is None:
            spec = validate(to_dict(workflow.spec))
            self._specs.put(key, spec)
        return spec
