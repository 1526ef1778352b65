"""What the policy service gives routers that decide in-process, over real gRPC: the active
bundle on a stream (on connect and after every reload, no secret in it), and the audit
records of their decisions appended a batch per transaction, tokens kept in the vault."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from policy_helpers import HASH_KEY, ROUTER, as_
from policy_servers import policy_settings, start_policy
from prometheus_client import REGISTRY

from airspace.mesh import errors, identity
from airspace.policy.engine.pii.masking import Masker
from airspace.policy.v1 import policy_pb2
from airspace.v1 import observability_pb2

pytestmark = pytest.mark.mesh

ANN = identity.Identity("user:ann", "acme", ("operator",), "user")
OFFICER = policy_pb2.Subject(
    principal="user:pia",
    tenant="acme",
    roles=["privacy-officer"],
    kind=policy_pb2.PRINCIPAL_KIND_USER,
)
TOKEN = "tok_" + "ab" * 16


def record(n: int, **fields) -> policy_pb2.AuditRecord:
    values = {
        "kind": "policy.decision",
        "tenant": "acme",
        "principal": "agent:writer",
        "run_id": "r-1",
        "decision_id": f"d-{n}",
        **fields,
    }
    message = policy_pb2.AuditRecord(**values)
    message.details.update({"checkpoint": "step.input", "verdict": "ALLOW", "n": n})
    return message


def commits() -> float:
    return REGISTRY.get_sample_value("airspace_audit_commits_total") or 0.0


def allowed_inputs() -> float:
    labels = {"checkpoint": "step.input", "verdict": "allow"}
    return REGISTRY.get_sample_value("airspace_policy_decisions_total", labels) or 0.0


async def test_the_bundle_comes_on_connect_and_after_each_reload(policy_server):
    stub = policy_server.policy()
    stream = stub.WatchBundle(policy_pb2.WatchBundleRequest(), metadata=as_(ROUTER))
    first = await stream.read()
    document = policy_server.bundle_path.read_bytes()
    assert (first.document, first.source) == (document, "default.yaml")
    active = await stub.GetBundle(policy_pb2.GetBundleRequest(), metadata=as_(ROUTER))
    assert (first.name, first.version, first.digest) == (
        active.name,
        active.version,
        active.digest,
    )
    assert first.hash_key_id == Masker(HASH_KEY).key_id()
    assert HASH_KEY.hex() not in first.hash_key_id and HASH_KEY not in first.SerializeToString()

    changed = document.replace(b'version: "2025.11.0"', b'version: "2025.11.9"')
    policy_server.bundle_path.write_bytes(changed)
    await stub.ReloadBundle(policy_pb2.ReloadBundleRequest(), metadata=as_(ROUTER))
    second = await asyncio.wait_for(stream.read(), 10)
    assert (second.version, second.document) == ("2025.11.9", changed)
    stream.cancel()


async def test_a_quiet_bundle_stream_says_it_is_alive(tmp_path):
    running = await start_policy(policy_settings(tmp_path, bundle_keepalive_seconds=0.05))
    try:
        stream = running.policy().WatchBundle(policy_pb2.WatchBundleRequest(), metadata=as_(ROUTER))
        first = await stream.read()
        assert first.document and not first.keepalive
        for _ in range(2):  # nothing else to send: keepalives, with no bundle in them
            assert await stream.read() == policy_pb2.WatchBundleResponse(keepalive=True)
        stream.cancel()
    finally:
        await running.stop()


def test_a_keepalive_interval_must_be_positive(tmp_path):
    with pytest.raises(errors.InvalidArgument) as refusal:
        policy_settings(tmp_path, bundle_keepalive_seconds=0)
    assert refusal.value.violations[0][0] == "bundle_keepalive_seconds"


async def test_only_mesh_services_watch_the_bundle(policy_server):
    stream = policy_server.policy().WatchBundle(policy_pb2.WatchBundleRequest(), metadata=as_(ANN))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stream.read()
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_batch_is_one_commit_in_order_counted_and_its_tokens_resolve(policy_server):
    stub = policy_server.policy()
    token = policy_pb2.TokenValue(token=TOKEN, entity="EMAIL", value="ann@example.com")
    batch = [record(1), record(2, tokens=[token], vault_tenant="acme"), record(3)]
    before, counted = commits(), allowed_inputs()
    reply = await stub.RecordDecisions(
        policy_pb2.RecordDecisionsRequest(records=batch), metadata=as_(ROUTER)
    )
    assert commits() - before == 1
    assert allowed_inputs() - counted == 3  # routers' decisions count in the service's metrics
    assert list(reply.sequences) == list(range(reply.sequences[0], reply.sequences[0] + 3))
    listed = await policy_server.audit().ListAuditEntries(
        observability_pb2.ListAuditEntriesRequest(run_id="r-1"),
        metadata=as_(identity.Identity("user:aud", "acme", ("auditor",), "user")),
    )
    assert [e.decision_id for e in listed.entries] == ["d-1", "d-2", "d-3"]
    assert "ann@example.com" not in str(listed)
    resolved = await stub.ResolveToken(
        policy_pb2.ResolveTokenRequest(subject=OFFICER, token=TOKEN), metadata=as_(ROUTER)
    )
    assert (resolved.entity, resolved.value) == ("EMAIL", "ann@example.com")


@pytest.mark.parametrize(
    ("records", "field"),
    [
        ([], "records"),
        ([record(1), record(2, kind="Not A Kind")], "records[1].kind"),
        ([record(1, tenant="")], "records[0].tenant"),
        (
            [record(1, tokens=[policy_pb2.TokenValue(token="x", entity="EMAIL", value="v")])],
            "records[0].tokens[0].token",
        ),
        (
            [record(1, tokens=[policy_pb2.TokenValue(token=TOKEN, entity="EMAIL", value="v")])],
            "records[0].vault_tenant",
        ),
    ],
)
async def test_a_bad_batch_is_refused_naming_the_field_and_nothing_is_appended(
    policy_server, records, field
):
    before = commits()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await policy_server.policy().RecordDecisions(
            policy_pb2.RecordDecisionsRequest(records=records), metadata=as_(ROUTER)
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in refused.value.details()
    assert commits() == before
