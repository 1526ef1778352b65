"""Which spans of a trace belong to a run's path: those its mesh services sent, and those
of an agent the run invoked.

An agent's span joins the run only when, through spans the same agent sent, it descends
from the mesh's own `invoke_agent` span for that agent (any agent, for a credential of
every agent of the tenant: a process hosting several), in a run of the agent's tenant.
So a sender that learns a run's id, or even its trace id, cannot slip spans into another
tenant's run, nor pose as another agent of the same run: whatever it exports stays out of
the run's path (stored, but attached to nothing).
"""

from __future__ import annotations

from collections.abc import Sequence

from airspace.mesh.telemetry_credentials import ANY_AGENT
from airspace.tracing.store import AGENT_ATTRIBUTE, SpanRecord

TENANT_ATTRIBUTE = "airspace.tenant"


def run_tenant(spans: Sequence[SpanRecord]) -> str:
    """The run's tenant, as the router's workflow span names it ("" before it arrived)."""
    for span in spans:
        if span.from_service and span.attributes.get(TENANT_ATTRIBUTE):
            return str(span.attributes[TENANT_ATTRIBUTE])
    return ""


def attached(spans: Sequence[SpanRecord]) -> list[SpanRecord]:
    by_id = {span.span_id: span for span in spans}
    tenant = run_tenant(spans)
    return [span for span in spans if span.from_service or _invoked(span, by_id, tenant)]


def _invoked(span: SpanRecord, by_id: dict[str, SpanRecord], tenant: str) -> bool:
    expected = f"agent:{tenant}/"
    if not tenant or not span.sender.startswith(expected):
        return False
    agent = span.sender.removeprefix(expected)
    current, seen = span, {span.span_id}
    while current.parent_span_id and current.parent_span_id not in seen:
        parent = by_id.get(current.parent_span_id)
        if parent is None:
            return False
        if parent.from_service:
            return agent == ANY_AGENT or parent.attributes.get(AGENT_ATTRIBUTE) == agent
        if parent.sender != span.sender:
            return False
        seen.add(parent.span_id)
        current = parent
    return False
