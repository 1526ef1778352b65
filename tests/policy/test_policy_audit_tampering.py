"""Attacks on the audit log by someone who can write the policy service's data folder
but holds no signing key, each tried against the real policy service over gRPC: the
service writes a log, stops, the attacker edits the files, and the next start refuses
to sign over what it finds, naming the check that found it. An acknowledged incident
is recorded in the log, and the service continues."""

from __future__ import annotations

import os
import pathlib
import stat

import grpc
import pytest
from policy_helpers import (
    ROUTER,
    as_,
    forge_append,
    mesh_derived_signer,
    resign_heads,
    rewrite_chain,
    tamper,
)
from policy_servers import Running, policy_settings, start_policy

from airspace.mesh import identity
from airspace.policy.audit.opening import AuditIncident
from airspace.policy.audit.signing import HeadSigner, SignedHead
from airspace.policy.audit.verification import INCIDENT_KIND
from airspace.policy.service.main import build_server
from airspace.policy.v1 import policy_pb2
from airspace.v1 import observability_pb2

pytestmark = pytest.mark.mesh

AUDITOR = identity.Identity("service:auditor", "*", ("auditor",), "mesh")
ENTRIES = 6


async def record(running: Running, n: int) -> int:
    request = policy_pb2.RecordAuditRequest(
        kind="approval.decided",
        subject=policy_pb2.Subject(
            principal=f"user:{n}", tenant="acme", kind=policy_pb2.PRINCIPAL_KIND_USER
        ),
        run_id=f"r-{n}",
    )
    request.details.update({"n": n})
    return (await running.policy().RecordAudit(request, metadata=as_(ROUTER))).sequence


async def verify(running: Running) -> observability_pb2.VerifyAuditLogResponse:
    request = observability_pb2.VerifyAuditLogRequest()
    return await running.audit().VerifyAuditLog(request, metadata=as_(AUDITOR))


def database(config) -> pathlib.Path:
    return pathlib.Path(config.audit_database)


def failed(result: observability_pb2.VerifyAuditLogResponse) -> dict[str, list[str]]:
    return {c.name: [f.problem for f in c.findings] for c in result.checks if not c.ok}


@pytest.fixture
async def written(tmp_path):
    """The settings of a policy service that wrote ENTRIES entries, one commit each,
    verified them, and stopped."""
    config = policy_settings(tmp_path)
    running = await start_policy(config)
    for n in range(ENTRIES):
        await record(running, n)
    result = await verify(running)
    assert result.ok and {c.name for c in result.checks if c.ok} == {
        "chain",
        "signatures",
        "heads",
        "coverage",
        "witness",
    }
    await running.stop()
    return config


def refused(config) -> AuditIncident:
    with pytest.raises(AuditIncident) as refusal:
        build_server(config)
    return refusal.value


def found(incident: AuditIncident) -> set[str]:
    return {finding.check for finding in incident.report.findings}


def edit(db):
    tamper(db, "UPDATE audit_entries SET details = '{\"n\": 99}' WHERE sequence = 3")


def delete_one(db):
    tamper(db, "DELETE FROM audit_entries WHERE sequence = 3")


def reorder(db):
    tamper(
        db,
        "UPDATE audit_entries SET sequence = 100 WHERE sequence = 2",
        "UPDATE audit_entries SET sequence = 2 WHERE sequence = 4",
        "UPDATE audit_entries SET sequence = 4 WHERE sequence = 100",
    )


def cut_tail(db):
    tamper(db, "DELETE FROM audit_entries WHERE sequence > 4")


def cut_to_a_signed_head(db):
    # What the log looked like at entry 4, its signed head included: consistent in itself.
    tamper(
        db,
        "DELETE FROM audit_entries WHERE sequence > 4",
        "DELETE FROM audit_signed_heads WHERE size > 4",
    )


def forged_append_with_its_head(db):
    forge_append(db, HeadSigner.generate())


def forged_append_with_a_copied_head(db):
    # The head row fixed to name the forged entry, carrying the last genuine signature.
    sequence = forge_append(db, None)
    tamper(
        db,
        "INSERT INTO audit_signed_heads SELECT size + 1,"
        f" (SELECT hash FROM audit_entries WHERE sequence = {sequence}), time_us, key_id,"
        " signature FROM audit_signed_heads ORDER BY size DESC LIMIT 1",
    )


def wipe(db):
    tamper(db, "DELETE FROM audit_entries", "DELETE FROM audit_signed_heads")


def delete_the_database(db):
    for name in os.listdir(db.parent):
        if name.startswith(db.name):
            os.remove(db.parent / name)


def rewrite_and_resign_with_the_mesh_derived_key(db):
    rewrite_chain(db, 3, {"n": 99})
    resign_heads(db, mesh_derived_signer())


# Attacks on the tail stop the start: it verifies from the last witnessed head to the
# log's end. An entry edited before that head cannot be laundered by signing on (the
# witnessed head's hash commits to the original), and verify finds it.
TAIL, EARLIER = "the start refuses", "verify finds it"


@pytest.mark.parametrize(
    ("attack", "where", "checks"),
    [
        (edit, EARLIER, {"chain"}),
        (delete_one, EARLIER, {"chain", "heads"}),
        (reorder, EARLIER, {"chain", "heads"}),
        (cut_tail, TAIL, {"coverage", "witness"}),
        (cut_to_a_signed_head, TAIL, {"witness"}),
        (forged_append_with_its_head, TAIL, {"signatures", "coverage"}),
        (forged_append_with_a_copied_head, TAIL, {"signatures", "coverage"}),
        (wipe, TAIL, {"witness"}),
        (delete_the_database, TAIL, {"witness"}),
        (
            rewrite_and_resign_with_the_mesh_derived_key,
            TAIL,
            {"signatures", "coverage", "witness"},
        ),
    ],
)
async def test_tampering_is_found(written, attack, where, checks):
    attack(database(written))
    if where == TAIL:
        incident = refused(written)
        assert found(incident) == checks
        assert f"incident {incident.incident}" in str(incident)
        assert "AIRSPACE_POLICY_AUDIT_ACKNOWLEDGE=" in str(incident)
        return
    running = await start_policy(written)
    result = await verify(running)
    await running.stop()
    assert not result.ok and set(failed(result)) == checks
    assert 1 <= result.first_bad_sequence <= 4


async def test_a_chain_rewritten_while_the_service_runs_is_never_signed_over(tmp_path):
    running = await start_policy(policy_settings(tmp_path))
    for n in range(ENTRIES):
        await record(running, n)
    rewrite_chain(database(running.settings), 3, {"n": 99})
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await verify(running)  # its own authorization cannot be audited
    assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "until a start of the policy service verifies it" in failure.value.details()
    await running.stop()
    incident = refused(running.settings)
    assert found(incident) == {"heads", "coverage", "witness"}
    assert incident.report.findings[0].sequence == 3


async def test_the_service_signs_nothing_over_a_head_it_did_not_write(tmp_path):
    running = await start_policy(policy_settings(tmp_path))
    await record(running, 0)
    forge_append(database(running.settings), None)
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await record(running, 1)
    assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "not at entry 1 (" in failure.value.details()
    await running.stop()


async def test_an_acknowledged_incident_is_recorded_and_the_service_continues(written, tmp_path):
    wipe(database(written))
    incident = refused(written)
    wrong = policy_settings(
        tmp_path, audit_acknowledge="0" * 16, audit_acknowledge_reason="restored"
    )
    assert "which is not this one" in str(refused(wrong))

    acknowledged = policy_settings(
        tmp_path,
        audit_acknowledge=incident.incident,
        audit_acknowledge_reason="disk replaced; ask ann@example.com",
    )
    running = await start_policy(acknowledged)
    result = await verify(running)
    assert result.ok and list(result.incident_sequences) == [1]
    assert [f.check for f in result.acknowledged] == ["witness"]
    assert "entries were removed" in result.acknowledged[0].problem
    entries = await running.audit().ListAuditEntries(
        observability_pb2.ListAuditEntriesRequest(), metadata=as_(AUDITOR)
    )
    first = entries.entries[0]
    assert first.kind == INCIDENT_KIND and first.details["incident"] == incident.incident
    assert first.details["reason"].startswith("disk replaced; ask [EMAIL:hmac:")
    await record(running, 7)
    await running.stop()

    # The next start needs no acknowledgement, and the old one covers nothing new.
    again = await start_policy(acknowledged)
    assert (await verify(again)).ok
    await again.stop()
    edit(database(written))
    after_edit = await start_policy(acknowledged)
    assert set(failed(await verify(after_edit))) == {"chain"}
    await after_edit.stop()


async def test_the_audit_files_are_private_to_the_service(tmp_path):
    running = await start_policy(policy_settings(tmp_path))
    await record(running, 0)
    await verify(running)  # publishes the head to the witness
    data = database(running.settings).parent
    private = [
        database(running.settings),
        data / "audit.db-wal",
        data / "tokens.db",
        data / "audit-signing.key",
        data / "witness" / "audit-heads.jsonl",
    ]
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in private}
    await running.stop()
    assert modes == {path.name: 0o600 for path in private}


async def test_a_database_made_readable_is_made_private_again(written):
    database(written).chmod(0o644)
    running = await start_policy(written)
    assert stat.S_IMODE(database(written).stat().st_mode) == 0o600
    await running.stop()


async def test_the_signing_key_is_not_derived_from_the_mesh_key(written):
    key = (database(written).parent / "audit-signing.key").read_text().strip()
    assert key != mesh_derived_signer().seed().hex()
    # Another key file in place of the service's: every head it signed stops verifying.
    (database(written).parent / "audit-signing.key").write_text(HeadSigner.generate().seed().hex())
    assert found(refused(written)) == {"signatures", "coverage"}


class HeldElsewhere:
    """A witness another principal keeps (here: memory the attacker cannot reach)."""

    name = "the remote witness"

    def __init__(self):
        self.kept: list[SignedHead] = []

    def publish(self, head: SignedHead) -> None:
        self.kept.append(head)

    def heads(self) -> list[SignedHead]:
        return list(self.kept)


async def test_a_witness_held_elsewhere_finds_a_deleted_database(
    tmp_path,
):
    config = policy_settings(tmp_path)
    remote = HeldElsewhere()
    running = await start_policy(config, remote)
    for n in range(3):
        await record(running, n)
    await running.stop()
    assert remote.kept[-1].size == 3
    delete_the_database(database(config))
    with pytest.raises(AuditIncident) as refusal:
        build_server(config, remote)
    assert "the remote witness saw 3 entries" in str(refusal.value)


async def test_after_an_acknowledged_cut_the_log_grows_past_the_heads_left_behind(
    written, tmp_path
):
    cut_tail(database(written))
    incident = refused(written)
    acknowledged = policy_settings(
        tmp_path, audit_acknowledge=incident.incident, audit_acknowledge_reason="cut by mistake"
    )
    running = await start_policy(acknowledged)
    for n in range(ENTRIES):  # through the sizes of the heads the cut left behind
        await record(running, n)
    result = await verify(running)
    await running.stop()
    assert result.ok and result.entries_checked > ENTRIES
    # The heads the cut left past its end now disagree with the chain there: acknowledged.
    assert {f.check for f in result.acknowledged} == {"heads", "witness"}
