"""The PII canary: a workflow runs on input holding known PII (an SSN, a card number and
an email, plain, base64-wrapped and split across fields), an agent asks for an action with
PII in its arguments, and an approver's comment quotes it. Afterwards no table of the audit
log or the trace store, no log line and no metric holds any of it in clear; the token vault
holds the tokenized email sealed, never readable; and a viewer reading the run through the
gateway (GetRun, ListRuns, WatchRun, GetRunTrace) sees none of it. The client's principal is
an email address too: spans name it only by a keyed hash (the audit log names principals as
they are, so that it can be queried by principal).

The state service is the run's system of record (DESIGN.md: durable runs, their event log
and journal): it keeps what the run needs to execute and resume, as it was given. So the
canaries may be stored in clear in exactly two places there: the run's input, as the client
sent it, and the approver's comment, as the person wrote it. Everything the agents produced
(step outputs, actions, the run's output, the journal) and every event shown to agents
without clearance holds none of it: they only ever saw it masked.
"""

from __future__ import annotations

import base64
import io
import logging
import sqlite3

import pytest
from google.protobuf import json_format
from governance_support import decide, deploy, ending, start, watch
from mesh_support import exporting_spans, wait_for_approvals
from prometheus_client import REGISTRY, generate_latest
from test_pii_in_traces import stored_spans

from airspace.agents.kit import Agent, Reply
from airspace.mesh import logs
from airspace.policy.engine.pii.log_masking import mask_log_text
from airspace.policy.engine.pii.scan import scan_json
from airspace.state.v1 import state_pb2
from airspace.v1 import (
    agent_registry_pb2,
    approval_pb2,
    observability_pb2,
    observability_pb2_grpc,
    run_pb2,
    workflow_pb2,
)

pytestmark = pytest.mark.mesh

EMAIL = "jane.canary@example.com"
CARD = "4111 1111 1111 1111"
IBAN = "GB82WEST12345698765432"
SSN = "536-90-4399"
CANARIES = (
    EMAIL,
    CARD,
    CARD.replace(" ", ""),
    IBAN,
    SSN,
    base64.b64encode(EMAIL.encode()).decode().rstrip("="),
)
PRINCIPAL = "user:ops.lead@example.com"
PIPELINE = """
name: canary
pattern: sequential
steps:
  - {name: intake, agent: intake, actions: [crm.lookup]}
  - {name: review, agent: summarizer, approval: {after: true}}
"""


def in_clear(text: str) -> list[str]:
    return [canary for canary in CANARIES if canary in text]


def intake(received: list) -> Agent:
    """Not cleared for PII: records what it was given, looks the customer up by email."""
    agent = Agent(name="intake", version="1.0.0", description="reads requests", actions=True)

    @agent.handler
    async def read(task):
        received.append({"text": task.text, "data": task.data})
        logging.getLogger("tests.governance.intake").info("intake got %s", task.text)
        await task.request_action("crm.lookup", {"email": EMAIL}, f"find {EMAIL}")
        return Reply(text=f"request from {task.text}", data={"summary": "refund request"})

    return agent


def summarizer(received: list) -> Agent:
    agent = Agent(name="summarizer", version="1.0.0", description="summarizes")

    @agent.handler
    async def summarize(task):
        received.append({"text": task.text, "data": task.data, "context": task.context_data})
        return Reply(text="summary ready")

    return agent


# What the state service's `data` columns hold, by table.
STATE_ROWS = {
    "runs": run_pb2.Run,
    "events": run_pb2.RunEvent,
    "journal": state_pb2.JournalEntry,
    "approvals": approval_pb2.Approval,
    "workflows": workflow_pb2.Workflow,
    "agents": agent_registry_pb2.Agent,
    "memory": state_pb2.MemoryEntry,
}
# Where the state service may keep the canaries in clear (see the module's docstring).
AS_GIVEN = {("runs", "input"), ("approvals", "comment"), ("events", "approval_decided")}


@pytest.fixture
def every_log_line():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.formatter("json", "mesh", mask_log_text))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


@pytest.fixture
async def exported(mesh):
    """Spans go to the mesh's own trace collector, as every service's exporter sends them."""
    async with exporting_spans(mesh) as exporting:
        yield exporting


def state_fields_in_clear(database) -> set[tuple[str, str]]:
    """(table, top-level field) of every state record holding a canary in clear; the
    columns beside the records must hold none."""
    found = set()
    with sqlite3.connect(database) as conn:
        for table, message in STATE_ROWS.items():
            names = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                columns = dict(zip(names, row, strict=True))
                record = message.FromString(columns.pop("data"))
                assert in_clear(str(columns)) == [], f"state:{table} columns"
                form = json_format.MessageToDict(record, preserving_proto_field_name=True)
                found |= {(table, field) for field, value in form.items() if in_clear(str(value))}
    return found


async def viewers_reads(client, run_id: str) -> list:
    """All a viewer reads of the run through the gateway."""
    runs, metadata = client.runs, client.metadata
    traces = observability_pb2_grpc.TraceServiceStub(client.channel)
    return [
        (await runs.GetRun(run_pb2.GetRunRequest(run_id=run_id), metadata=metadata)).run,
        *(await runs.ListRuns(run_pb2.ListRunsRequest(), metadata=metadata)).runs,
        *(await watch(client, run_id)),
        await traces.GetRunTrace(
            observability_pb2.GetRunTraceRequest(run_id=run_id), metadata=metadata
        ),
    ]


def stored_rows(database) -> dict[str, str]:
    """Every row of every table of an SQLite file, as text per table."""
    with sqlite3.connect(database) as conn:
        tables = [
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        return {
            table: "\n".join(
                " ".join(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row)
                for row in conn.execute(f'SELECT * FROM "{table}"')
            )
            for table in tables
        }


@pytest.mark.parametrize("bundle", ["EMAIL"], indirect=True)  # so the vault holds one
async def test_known_pii_reaches_no_audit_vault_or_trace_table_log_line_or_metric(
    mesh, exported, every_log_line
):
    processor, queries = exported
    client, uncleared = mesh.client(PRINCIPAL, "acme", ("operator",)), []
    await deploy(mesh, client, PIPELINE, intake(uncleared), summarizer(uncleared))
    run_input = {
        "text": f"Refund {CARD} for {EMAIL} (SSN {SSN}), iban {IBAN}",
        "attachment": base64.b64encode(f"signed by {EMAIL}".encode()).decode(),
        "customer": {"profile": {"login": {"user": "jane.canary", "domain": "@example.com"}}},
    }
    run = await start(client, "canary", run_input)
    approver = mesh.client("user:ada", "acme", ("approver",))
    [pending] = await wait_for_approvals(approver)
    await decide(approver, pending, run_pb2.APPROVAL_OUTCOME_APPROVED, f"ok, I called {EMAIL}")
    assert ending(await watch(client, run.run_id)).to == run_pb2.RUN_STATE_COMPLETED
    spans = await stored_spans(queries, processor, run.run_id)
    [gateway] = [span for span in spans if span.name == "gateway airspace.v1.RunService/StartRun"]
    assert dict(gateway.attributes)["enduser.id"].startswith("hmac:")

    assert len(uncleared) == 2
    for received in uncleared:  # what the state service shows agents without clearance
        assert in_clear(str(received)) == [] and scan_json(received) == [], received

    viewer = mesh.client("user:vic", "acme", ("viewer",))
    seen = await viewers_reads(viewer, run.run_id)
    assert in_clear(str(seen)) == [] and len(seen) > 4

    assert state_fields_in_clear(mesh.tmp_path / "state" / "state.db") == AS_GIVEN
    with sqlite3.connect(mesh.tmp_path / "policy" / "tokens.db") as vault:
        assert vault.execute("SELECT COUNT(*) FROM tokens").fetchone()[0] > 0, "emails sealed"

    stores = [*(mesh.tmp_path / "policy").glob("*.db"), *(mesh.tmp_path / "traces").glob("*.db")]
    assert {db.name for db in stores} == {"audit.db", "tokens.db", "traces.db"}
    for database in stores:
        for table, rows in stored_rows(database).items():
            assert in_clear(rows) == [], f"{database.name}:{table}"
        for file in database.parent.glob(f"{database.name}*"):  # the WAL too
            assert in_clear(file.read_bytes().decode("latin-1")) == [], file.name
    traces = stored_rows(mesh.tmp_path / "traces" / "traces.db")["spans"]
    assert run.run_id in traces and PRINCIPAL not in traces
    audit = stored_rows(mesh.tmp_path / "policy" / "audit.db")["audit_entries"]
    assert "approval.decided" in audit and "[EMAIL:hmac:" in audit  # masked, not dropped

    logged = every_log_line.getvalue()
    assert "intake got" in logged
    assert in_clear(logged) == []
    assert in_clear(generate_latest(REGISTRY).decode()) == []
