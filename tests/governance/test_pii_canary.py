"""The PII canary: a workflow runs on input holding known PII (plain, base64-wrapped and
split across fields), an agent asks for an action with PII in its arguments, and an
approver's comment quotes it. Afterwards no stored table of the audit log, the token vault
or the trace store, no log line and no metric holds any of it in clear. The client's
principal is an email address too: spans name it only by a keyed hash (the audit log
names principals as they are, so that it can be queried by principal).

The state service is left out on purpose: its tables hold the run's business data (the
input a client sent, the outputs of cleared agents) by design, like any system of record.
What governance promises there is checked instead: the events shown to an agent without
clearance (its input and context) hold no PII in clear.
"""

from __future__ import annotations

import base64
import io
import logging
import sqlite3

import pytest
from governance_support import decide, deploy, ending, start, watch
from mesh_support import exporting_spans, wait_for_approvals
from prometheus_client import REGISTRY, generate_latest
from test_pii_in_traces import stored_spans

from airspace.agents.kit import Agent, Reply
from airspace.mesh import logs
from airspace.policy.engine.pii.log_masking import mask_log_text
from airspace.policy.engine.pii.scan import scan_json
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh

EMAIL = "jane.canary@example.com"
CARD = "4111 1111 1111 1111"
IBAN = "GB82WEST12345698765432"
CANARIES = (
    EMAIL,
    CARD,
    CARD.replace(" ", ""),
    IBAN,
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


async def test_known_pii_reaches_no_audit_vault_or_trace_table_log_line_or_metric(
    mesh, exported, every_log_line
):
    processor, queries = exported
    client, uncleared = mesh.client(PRINCIPAL, "acme", ("operator",)), []
    await deploy(mesh, client, PIPELINE, intake(uncleared), summarizer(uncleared))
    run_input = {
        "text": f"Refund {CARD} for {EMAIL}, iban {IBAN}",
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
