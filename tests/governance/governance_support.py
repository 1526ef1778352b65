"""Helpers of the governance tests: running workflows through the gateway and reading
what happened."""

from __future__ import annotations

import asyncio
import re

import grpc
from google.protobuf import json_format, struct_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from mesh_support import apply, collect_events, register

from airspace.policy.service.settings import PolicySettings
from airspace.v1 import approval_pb2, observability_pb2, observability_pb2_grpc, run_pb2

_ENDED = {run_pb2.RunState.Name(s) for s in (run_pb2.RUN_STATE_COMPLETED, run_pb2.RUN_STATE_FAILED)}


async def serve(mesh, client, *agents) -> None:
    for agent in agents:
        await register(client, await mesh.serve_agent(agent))


async def deploy(mesh, client, source: str, *agents) -> None:
    await serve(mesh, client, *agents)
    await apply(client, source)


def as_struct(values: dict) -> struct_pb2.Struct:
    value = struct_pb2.Struct()
    value.update(values)
    return value


async def execute(client, workflow: str, run_input: dict | None = None) -> list:
    """Every event of a run started now, until it ends or pauses for a person."""
    request = run_pb2.ExecuteRunRequest(workflow=workflow, input=as_struct(run_input or {}))
    return await collect_events(client.runs.ExecuteRun(request, metadata=client.metadata))


async def start(client, workflow: str, run_input: dict | None = None) -> run_pb2.Run:
    request = run_pb2.StartRunRequest(workflow=workflow, input=as_struct(run_input or {}))
    return (await client.runs.StartRun(request, metadata=client.metadata)).run


async def watch(client, run_id: str) -> list:
    request = run_pb2.WatchRunRequest(run_id=run_id)
    return await collect_events(client.runs.WatchRun(request, metadata=client.metadata))


def of_kind(events, kind: str) -> list:
    return [getattr(e, kind) for e in events if e.HasField(kind)]


def ending(events) -> run_pb2.RunStateChanged:
    return of_kind(events, "run_state_changed")[-1]


def as_dict(message) -> dict:
    return json_format.MessageToDict(message)


async def decide(client, approval, outcome, comment: str = "") -> approval_pb2.Approval:
    request = approval_pb2.DecideApprovalRequest(
        approval_id=approval.approval_id,
        outcome=outcome,
        comment=comment,
        payload_hash=approval.payload_hash,
    )
    return (await client.approvals.DecideApproval(request, metadata=client.metadata)).approval


def error_reason(error: grpc.aio.AioRpcError) -> str:
    for detail in rpc_status.from_call(error).details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason
    return ""


def tokenizing_bundle(folder, entity: str):
    """The default bundle with `entity` masked by TOKENIZE, written under `folder`."""
    default = PolicySettings(mesh_key=b"k" * 32).bundle_path.read_text()
    changed = re.sub(rf"(\n    {entity}: {{operator: )\w+}}", r"\1TOKENIZE}", default)
    assert changed != default, f"the default bundle has no operator for {entity}"
    bundle = folder / "bundles" / f"tokenizing-{entity.lower()}.yaml"
    bundle.parent.mkdir(exist_ok=True)
    bundle.write_text(changed)
    return bundle


async def audit_entries(auditor, run_id: str) -> list:
    """The run's audit entries once the record of its end is among them: a run's records
    reach the audit log through the router's relay, soon after the run's writes
    (AIRSPACE_ROUTER_AUDIT_RELAY_SECONDS), and those of one router in order."""
    audit = observability_pb2_grpc.AuditServiceStub(auditor.channel)
    request = observability_pb2.ListAuditEntriesRequest(run_id=run_id, page_size=1000)
    async with asyncio.timeout(15):
        while True:
            entries = (await audit.ListAuditEntries(request, metadata=auditor.metadata)).entries
            if any(
                e.kind == "run.state_changed" and as_dict(e.details)["to"] in _ENDED
                for e in entries
            ):
                return list(entries)
            await asyncio.sleep(0.05)
