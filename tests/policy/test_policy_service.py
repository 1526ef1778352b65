"""The policy and audit services over real gRPC."""

from __future__ import annotations

import sqlite3

import grpc
import pytest
from google.protobuf import json_format
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from policy_helpers import ROUTER, as_

from airspace.mesh import identity
from airspace.policy.obligations import apply_obligations
from airspace.policy.v1 import policy_pb2
from airspace.v1 import observability_pb2, run_pb2

pytestmark = pytest.mark.mesh

ANN = identity.Identity("user:ann", "acme", ("operator",), "user")
AUDITOR = identity.Identity("user:aud", "acme", ("auditor",), "user")
GLOBEX_AUDITOR = identity.Identity("user:gus", "globex", ("auditor",), "user")


def subject(principal="user:ann", tenant="acme", roles=("operator",)):
    return policy_pb2.Subject(
        principal=principal, tenant=tenant, roles=roles, kind=policy_pb2.PRINCIPAL_KIND_USER
    )


def check_request(
    checkpoint="run.start", tenant="acme", payload=None, subject_tenant="acme", **subject_args
):
    request = policy_pb2.CheckRequest(
        checkpoint=checkpoint,
        subject=subject(tenant=subject_tenant, **subject_args),
        resource=policy_pb2.Resource(kind="run", name="r-1", tenant=tenant),
        run_id="r-1",
    )
    if payload is not None:
        request.payload.update(payload)
    return request


def details_of(failure: grpc.aio.AioRpcError):
    status = rpc_status.from_call(failure)
    info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
    for detail in status.details:
        if detail.Is(info.DESCRIPTOR):
            detail.Unpack(info)
        elif detail.Is(bad.DESCRIPTOR):
            detail.Unpack(bad)
    return info, [(v.field, v.description) for v in bad.field_violations]


async def list_entries(server, who, **filters):
    return await server.audit().ListAuditEntries(
        observability_pb2.ListAuditEntriesRequest(**filters), metadata=as_(who)
    )


async def test_check_decides_and_audits_without_the_payload(policy_server):
    stub = policy_server.policy()
    allowed = await stub.Check(check_request(), metadata=as_(ROUTER))
    assert allowed.verdict == run_pb2.VERDICT_ALLOW
    assert [(r.code, r.rule_id) for r in allowed.reasons] == [("RBAC_GRANTED", "builtin:rbac")]
    assert allowed.bundle_version == "2025.11.0" and not allowed.dry_run

    payload = {"task": {"customer": {"email": "ann@example.com"}}}
    masked = await stub.Check(
        check_request("step.input", payload=payload, roles=("mesh",)), metadata=as_(ROUTER)
    )
    assert masked.verdict == run_pb2.VERDICT_ALLOW
    (obligation,) = masked.obligations
    assert obligation.mask.path == "/task/customer/email"
    assert obligation.mask.operator == policy_pb2.MASK_OPERATOR_PARTIAL
    assert apply_obligations(payload, masked.obligations) == {
        "task": {"customer": {"email": "a***@example.com"}}
    }

    denied = await stub.Check(check_request(tenant="globex"), metadata=as_(ROUTER))
    assert denied.verdict == run_pb2.VERDICT_DENY
    assert [r.code for r in denied.reasons] == ["TENANT_MISMATCH"]

    listing = await list_entries(policy_server, AUDITOR, run_id="r-1")
    decisions = {e.decision_id: e for e in listing.entries if e.kind == "policy.decision"}
    assert set(decisions) >= {allowed.decision_id, masked.decision_id, denied.decision_id}
    entry = decisions[masked.decision_id]
    details = json_format.MessageToDict(entry.details)
    assert details["checkpoint"] == "step.input" and details["verdict"] == "ALLOW"
    assert details["reason_codes"] == ["RBAC_GRANTED", "PII_MASKED"]
    assert details["masked"] == {"EMAIL": 1.0}
    assert "ann@example.com" not in str(listing)


async def test_unknown_checkpoint_is_a_deny_not_an_error(policy_server):
    reply = await policy_server.policy().Check(check_request("run.explode"), metadata=as_(ROUTER))
    assert reply.verdict == run_pb2.VERDICT_DENY
    assert [r.code for r in reply.reasons] == ["POLICY_ERROR"]


async def test_check_requires_a_mesh_caller(policy_server):
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await policy_server.policy().Check(check_request(), metadata=as_(ANN))
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert details_of(failure.value)[0].reason == "MESH_ONLY"
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await policy_server.policy().Check(check_request())
    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_bad_check_requests_name_the_fields(policy_server):
    request = policy_pb2.CheckRequest(subject=policy_pb2.Subject(principal="user:ann"))
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await policy_server.policy().Check(request, metadata=as_(ROUTER))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    _, violations = details_of(failure.value)
    assert [field for field, _ in violations] == ["checkpoint", "subject.tenant"]


async def test_record_audit_masks_details(policy_server):
    request = policy_pb2.RecordAuditRequest(
        kind="approval.decided", subject=subject("user:bo"), run_id="r-9"
    )
    request.details.update({"comment": "ok, mail bo@example.com", "decision": "approve"})
    reply = await policy_server.policy().RecordAudit(request, metadata=as_(ROUTER))
    assert reply.sequence >= 1
    (entry,) = (await list_entries(policy_server, AUDITOR, run_id="r-9")).entries
    assert entry.sequence == reply.sequence and entry.kind == "approval.decided"
    assert entry.principal == "user:bo" and entry.details["decision"] == "approve"
    assert entry.details["comment"].startswith("ok, mail [EMAIL:hmac:")

    bad = policy_pb2.RecordAuditRequest(kind="Oops", subject=subject())
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await policy_server.policy().RecordAudit(bad, metadata=as_(ROUTER))
    assert details_of(failure.value)[1][0][0] == "kind"


async def test_a_broken_bundle_is_refused_and_the_old_one_stays_active(policy_server):
    stub = policy_server.policy()
    before = await stub.GetBundle(policy_pb2.GetBundleRequest(), metadata=as_(ROUTER))
    good = policy_server.bundle_path.read_text()
    policy_server.bundle_path.write_text(
        good.replace('when: subject.kind == "agent"', 'when: subject.kind == "agent" &&')
    )
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await stub.ReloadBundle(policy_pb2.ReloadBundleRequest(), metadata=as_(ROUTER))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.value.details().startswith("default.yaml: rules[0].when: syntax error")
    info, violations = details_of(failure.value)
    assert info.reason == "INVALID_BUNDLE" and violations[0][0] == "default.yaml:rules[0].when"

    still = await stub.GetBundle(policy_pb2.GetBundleRequest(), metadata=as_(ROUTER))
    assert still == before
    reply = await stub.Check(check_request(), metadata=as_(ROUTER))
    assert reply.verdict == run_pb2.VERDICT_ALLOW

    policy_server.bundle_path.write_text(
        good.replace('version: "2025.11.0"', 'version: "2025.11.1"').replace(
            "dry_run: false", "dry_run: true"
        )
    )
    reloaded = await stub.ReloadBundle(policy_pb2.ReloadBundleRequest(), metadata=as_(ROUTER))
    assert reloaded.bundle.version == "2025.11.1" and reloaded.bundle.dry_run
    assert reloaded.bundle.digest != before.digest
    assert "approver-is-not-an-agent" in reloaded.bundle.rule_ids

    would_deny = await stub.Check(check_request(roles=("viewer",)), metadata=as_(ROUTER))
    assert (would_deny.verdict, would_deny.dry_run) == (run_pb2.VERDICT_ALLOW, True)
    entries = (await list_entries(policy_server, AUDITOR)).entries
    logged = next(e for e in entries if e.decision_id == would_deny.decision_id)
    assert logged.details["evaluated_verdict"] == "DENY"
    # The reload is audited under the mesh caller, outside any tenant's listing.
    assert not any(e.kind == "policy.bundle_loaded" for e in entries)
    with sqlite3.connect(policy_server.settings.audit_database) as conn:
        (reloaded_by,) = conn.execute(
            "SELECT principal FROM audit_entries WHERE kind = 'policy.bundle_loaded'"
        ).fetchone()
    assert reloaded_by == "service:router"


async def test_audit_listing_is_scoped_to_the_callers_tenant(policy_server):
    stub = policy_server.policy()
    for tenant in ("acme", "globex", "globex"):
        request = check_request("run.read", tenant=tenant, subject_tenant=tenant)
        await stub.Check(request, metadata=as_(ROUTER))

    acme = (await list_entries(policy_server, AUDITOR)).entries
    globex = (await list_entries(policy_server, GLOBEX_AUDITOR)).entries
    assert acme and {e.tenant for e in acme} == {"acme"}
    assert {e.tenant for e in globex} == {"globex"}
    # Each listing audits its own audit.read decision too.
    decisions = [e for e in globex if e.details["checkpoint"] == "run.read"]
    assert len(decisions) == 2

    first = await list_entries(policy_server, GLOBEX_AUDITOR, page_size=1)
    assert len(first.entries) == 1 and first.next_page_token
    rest = await list_entries(policy_server, GLOBEX_AUDITOR, page_token=first.next_page_token)
    assert rest.entries[0].sequence > first.entries[0].sequence
    assert rest.entries[0].previous_hash


async def test_audit_needs_audit_read_and_valid_paging(policy_server):
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await list_entries(policy_server, ANN)
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED
    info, _ = details_of(failure.value)
    assert info.reason == "RBAC_DENIED" and info.metadata["decision_id"]
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await list_entries(policy_server, AUDITOR, page_token="not-a-token")
    assert details_of(failure.value)[1][0][0] == "page_token"
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await list_entries(policy_server, AUDITOR, page_size=-1)
    assert details_of(failure.value)[1][0][0] == "page_size"


async def test_verify_audit_log_finds_tampering(policy_server):
    stub = policy_server.policy()
    for _ in range(3):
        await stub.Check(check_request(), metadata=as_(ROUTER))
    verify = policy_server.audit().VerifyAuditLog
    intact = await verify(observability_pb2.VerifyAuditLogRequest(), metadata=as_(AUDITOR))
    assert intact.ok and intact.entries_checked == 4  # three checks and the auditor's own

    with sqlite3.connect(policy_server.settings.audit_database) as conn:
        conn.execute("DROP TRIGGER audit_entries_no_update")
        conn.execute("UPDATE audit_entries SET principal = 'user:eve' WHERE sequence = 2")
    broken = await verify(observability_pb2.VerifyAuditLogRequest(), metadata=as_(AUDITOR))
    assert (broken.ok, broken.first_bad_sequence) == (False, 2)
    assert "hash" in broken.problem


BROKEN_AT_LOAD = [
    ('when: subject.kind == "agent"', 'when: subjet.kind == "agent"', "unknown variable 'subjet'"),
    ("checkpoint: approval.decide", "checkpoint: approval.decided", "unknown checkpoint"),
    ("effect: deny", "effect: block", "must be one of allow, deny, require_approval"),
]


@pytest.mark.parametrize(
    ("old", "new", "problem"), BROKEN_AT_LOAD, ids=["variable", "checkpoint", "effect"]
)
async def test_reload_refuses_a_broken_bundle_naming_file_path_and_problem(
    policy_server, old, new, problem
):
    stub = policy_server.policy()
    good = policy_server.bundle_path.read_text()
    policy_server.bundle_path.write_text(good.replace(old, new, 1))
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await stub.ReloadBundle(policy_pb2.ReloadBundleRequest(), metadata=as_(ROUTER))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.value.details().startswith("default.yaml: rules[0].")
    assert problem in failure.value.details()
    still = await stub.GetBundle(policy_pb2.GetBundleRequest(), metadata=as_(ROUTER))
    assert still.version == "2025.11.0"


RUNTIME_BROKEN = """
  - id: budget-is-text
    checkpoint: run.start
    when: resource.name
    effect: deny
    reason: NEVER
  - id: reads-a-missing-attribute
    checkpoint: run.read
    when: resource.attributes.owner == subject.principal
    effect: allow
    reason: OWNER
"""


async def test_a_reloaded_rule_that_breaks_at_run_time_fails_closed_naming_itself(policy_server):
    """Expressions that compile but cannot decide (not a bool, a missing field) are caught
    only when evaluated: the check is a DENY with POLICY_ERROR and the rule's id."""
    stub = policy_server.policy()
    good = policy_server.bundle_path.read_text()
    policy_server.bundle_path.write_text(
        good.replace("\nrules:\n", "\nrules:\n" + RUNTIME_BROKEN, 1)
    )
    await stub.ReloadBundle(policy_pb2.ReloadBundleRequest(), metadata=as_(ROUTER))
    for checkpoint, rule, problem in (
        ("run.start", "budget-is-text", "not a bool"),
        ("run.read", "reads-a-missing-attribute", "unknown field 'owner'"),
    ):
        reply = await stub.Check(check_request(checkpoint), metadata=as_(ROUTER))
        assert reply.verdict == run_pb2.VERDICT_DENY, checkpoint
        [error] = [r for r in reply.reasons if r.code == "POLICY_ERROR"]
        assert error.rule_id == rule and problem in error.message
