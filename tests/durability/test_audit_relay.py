"""A router killed after its appends stored a run's audit records in the state service's
audit outbox, and before its relay moved them to the policy service's audit log: the
router that sees its lease lapse takes the records over and relays them, each once, as
does the router itself, restarted under its id at once."""

from __future__ import annotations

import contextlib
import json
import sqlite3

import grpc
import pytest
from process_mesh import (
    STEPS,
    Client,
    prepare_workflow,
    start_runs,
    wait_for_the_end,
    wait_until,
)

from airspace.policy.v1 import policy_pb2

pytestmark = [pytest.mark.process, pytest.mark.timeout(120)]


def outbox(home) -> dict[str, str]:
    """record_id: router of each entry of the state service's audit outbox."""
    with sqlite3.connect(f"file:{home / 'state.db'}?mode=ro", uri=True) as db:
        return dict(db.execute("SELECT record_id, router_id FROM audit_outbox").fetchall())


def logged(home, run_id: str) -> list[tuple[str, str]]:
    """(kind, decision_id) of the run's entries in the audit log."""
    with sqlite3.connect(f"file:{home / 'audit.db'}?mode=ro", uri=True) as db:
        return db.execute(
            "SELECT kind, decision_id FROM audit_entries WHERE run_id = ? ORDER BY sequence",
            (run_id,),
        ).fetchall()


def appended_once(home, record_ids: set[str]) -> set[str]:
    """The record ids the audit log appended a record under (each at most once)."""
    with sqlite3.connect(f"file:{home / 'audit.db'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT request_id FROM audit_batches WHERE request_id LIKE 'record:%'")
        return {request_id.removeprefix("record:") for (request_id,) in rows} & record_ids


async def unrelayed_run(mesh, router, client: Client) -> tuple[str, set[str]]:
    """A run through `router`, ended, whose records wait in the outbox: (run id, their ids)."""
    await prepare_workflow(client, mesh.agent.address)
    [run_id] = await start_runs(client, 1, f"audit-relay-{router.name}")
    await wait_for_the_end(client, [run_id])
    owner = router.name
    left = {record_id for record_id, held in outbox(mesh.home).items() if held == owner}
    # The start's decision, created, RUNNING, each step's input and output decisions,
    # COMPLETED.
    assert len(left) == 4 + 2 * len(STEPS)
    assert logged(mesh.home, run_id) == []
    return run_id, left


def check_relayed_once(mesh, run_id: str, left: set[str]) -> None:
    entries = logged(mesh.home, run_id)
    kinds = [kind for kind, _ in entries]
    assert kinds.count("run.created") == 1 and kinds.count("run.state_changed") == 2
    decisions = [decision for kind, decision in entries if kind == "policy.decision"]
    assert len(decisions) == len(set(decisions)) == 1 + 2 * len(STEPS)
    assert appended_once(mesh.home, left) == left


@contextlib.asynccontextmanager
async def slow_relaying_router(mesh, name: str):
    """A router of its own whose relay would wait ten minutes (it dies with its records
    unrelayed), and a client calling it; gone from the mesh afterwards."""
    router = mesh.add_router(name, AIRSPACE_ROUTER_AUDIT_RELAY_SECONDS="600")
    router.start()
    client = Client(grpc.aio.insecure_channel(router.address), mesh.signed())
    try:
        yield router, client
    finally:
        await client.channel.close()
        if router.alive():
            mesh.kill(router)
        del mesh.routers[name]


async def test_a_killed_routers_audit_records_are_relayed_once_by_another_router(mesh):
    async with slow_relaying_router(mesh, "doomed") as (doomed, client):
        run_id, left = await unrelayed_run(mesh, doomed, client)
        mesh.kill(doomed)
        await wait_until(lambda: not left & outbox(mesh.home).keys(), "the outbox relayed")
    check_relayed_once(mesh, run_id, left)


async def test_a_router_killed_and_restarted_at_once_has_its_audit_records_relayed_once(mesh):
    async with slow_relaying_router(mesh, "restarted") as (restarted, client):
        run_id, left = await unrelayed_run(mesh, restarted, client)
        mesh.kill(restarted)
        # Back under its id: its first recovery pass claims its own records (or, should
        # its lease lapse first, the router that sees it does).
        restarted.env["AIRSPACE_ROUTER_AUDIT_RELAY_SECONDS"] = "0.2"
        restarted.start()
        await wait_until(lambda: not left & outbox(mesh.home).keys(), "the outbox relayed")
    check_relayed_once(mesh, run_id, left)


def tamper(home, altered: str, forged_id: str) -> None:
    """Alters the outbox entry `altered` (a detail added) and adds a forged entry under
    `forged_id`, as someone able to write the state service's data folder could."""
    with sqlite3.connect(home / "state.db") as db:
        row = db.execute(
            "SELECT router_id, create_us, record FROM audit_outbox WHERE record_id = ?", (altered,)
        ).fetchone()
        record = policy_pb2.AuditRecord.FromString(row[2])
        record.details["forged"] = True
        db.execute(
            "UPDATE audit_outbox SET record = ? WHERE record_id = ?",
            (record.SerializeToString(), altered),
        )
        record.record_id = forged_id
        record.decision_id = "forged-decision"
        db.execute(
            "INSERT INTO audit_outbox (record_id, router_id, create_us, record) VALUES (?, ?, ?, ?)",
            (forged_id, row[0], row[1], record.SerializeToString()),
        )


async def test_outbox_records_altered_or_added_in_the_state_folder_are_relayed_as_rejected(mesh):
    async with slow_relaying_router(mesh, "tampered") as (router, client):
        run_id, left = await unrelayed_run(mesh, router, client)
        decisions = dict(logged_outbox(mesh.home, left))
        altered = next(rid for rid, kind in decisions.items() if kind == "policy.decision")
        tamper(mesh.home, altered, "forged-record")
        mesh.kill(router)
        await wait_until(lambda: not outbox(mesh.home), "the outbox relayed")
    entries = logged(mesh.home, run_id)
    kinds = [kind for kind, _ in entries]
    assert kinds.count("audit.outbox_rejected") == 2  # the altered entry and the forged one
    assert "forged-decision" not in [decision for _, decision in entries]
    assert kinds.count("policy.decision") == 1 + 2 * len(STEPS) - 1
    assert appended_once(mesh.home, left - {altered}) == left - {altered}
    assert not rejected_details_hold_forged_values(mesh.home, run_id)


def logged_outbox(home, record_ids: set[str]) -> list[tuple[str, str]]:
    """(record_id, kind) of the outbox entries named."""
    with sqlite3.connect(f"file:{home / 'state.db'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT record_id, record FROM audit_outbox").fetchall()
    return [
        (record_id, policy_pb2.AuditRecord.FromString(blob).kind)
        for record_id, blob in rows
        if record_id in record_ids
    ]


def rejected_details_hold_forged_values(home, run_id: str) -> bool:
    with sqlite3.connect(f"file:{home / 'audit.db'}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT details FROM audit_entries WHERE run_id = ? AND kind = ?",
            (run_id, "audit.outbox_rejected"),
        ).fetchall()
    return any("forged" in json.loads(details) for (details,) in rows)
