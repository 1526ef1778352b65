"""Reversible tokens: TOKENIZE masks, the encrypted vault behind them, and who may resolve them."""

from __future__ import annotations

import re
import sqlite3

import grpc
import pytest
from policy_helpers import DEFAULT_BUNDLE, ROUTER, as_, check, engine_for, user, write_bundle
from test_policy_service import details_of

from airspace.mesh import identity
from airspace.policy.engine import MaskOperator, Tokenized
from airspace.policy.obligations import apply_obligations
from airspace.policy.v1 import policy_pb2
from airspace.policy.vault.store import SqliteTokenStore
from airspace.policy.vault.vault import TokenVault, VaultError
from airspace.v1 import observability_pb2

pytestmark = pytest.mark.mesh

EMAIL = "rosa.parks@example.org"
TOKENIZING = "EMAIL: {operator: PARTIAL}", "EMAIL: {operator: TOKENIZE}"
MASK = re.compile(r"\[EMAIL:(tok_[0-9a-f]{32})\]")


def subject(roles, tenant="acme", principal="user:pia"):
    return policy_pb2.Subject(
        principal=principal, tenant=tenant, roles=roles, kind=policy_pb2.PRINCIPAL_KIND_USER
    )


def resolve(token, roles=("privacy-officer",), tenant="acme"):
    return policy_pb2.ResolveTokenRequest(subject=subject(roles, tenant), token=token, run_id="r-1")


@pytest.fixture
async def tokenizing(policy_server):
    path = policy_server.bundle_path
    path.write_text(path.read_text().replace(*TOKENIZING))
    stub = policy_server.policy()
    await stub.ReloadBundle(policy_pb2.ReloadBundleRequest(), metadata=as_(ROUTER))
    return policy_server, stub


async def tokenized(stub, text=f"write to {EMAIL}") -> tuple[str, str]:
    """(token, masked text) of a step input holding the email, for an agent without clearance."""
    request = policy_pb2.CheckRequest(
        checkpoint="step.input",
        subject=policy_pb2.Subject(
            principal="agent:writer",
            tenant="acme",
            roles=["agent"],
            kind=policy_pb2.PRINCIPAL_KIND_AGENT,
        ),
        resource=policy_pb2.Resource(kind="agent", name="writer", tenant="acme"),
        run_id="r-1",
    )
    request.payload.update({"text": text})
    reply = await stub.Check(request, metadata=as_(ROUTER))
    [obligation] = reply.obligations
    assert obligation.mask.operator == policy_pb2.MASK_OPERATOR_TOKENIZE
    masked = apply_obligations({"text": text}, reply.obligations)["text"]
    return MASK.search(masked).group(1), masked


def test_the_engine_mints_a_fresh_token_per_value_and_never_shows_the_value(tmp_path):
    path = write_bundle(tmp_path, DEFAULT_BUNDLE.read_text().replace(*TOKENIZING))
    engine = engine_for(path)
    step = check("step.input", user("mesh"), payload={"a": EMAIL, "b": EMAIL})
    decision = engine.decide(step)
    assert [o.operator for o in decision.obligations] == [MaskOperator.TOKENIZE] * 2
    tokens = [t.token for t in decision.tokens]
    assert len(set(tokens)) == 2 and all(MASK.fullmatch(f"[EMAIL:{t}]") for t in tokens)
    assert [t.value for t in decision.tokens] == [EMAIL, EMAIL]
    assert EMAIL not in repr(decision)
    denied = engine.decide(check("step.input", user("viewer"), payload={"a": EMAIL}))
    assert denied.tokens == () and denied.obligations == ()


async def test_a_privacy_officer_of_the_tenant_resolves_a_token_and_it_is_audited(tokenizing):
    server, stub = tokenizing
    token, masked = await tokenized(stub)
    assert EMAIL not in masked and masked.startswith("write to [EMAIL:tok_")

    reply = await stub.ResolveToken(resolve(token), metadata=as_(ROUTER))
    assert (reply.value, reply.entity) == (EMAIL, "EMAIL")

    auditor = identity.Identity("user:aud", "acme", ("auditor",), "user")
    entries = (
        await server.audit().ListAuditEntries(
            observability_pb2.ListAuditEntriesRequest(principal="user:pia"), metadata=as_(auditor)
        )
    ).entries
    [entry] = [e for e in entries if e.decision_id == reply.decision_id]
    assert entry.details["checkpoint"] == "token.resolve" and entry.details["verdict"] == "ALLOW"
    assert entry.run_id == "r-1"


async def test_values_are_encrypted_at_rest_and_absent_from_the_audit_log(tokenizing):
    server, stub = tokenizing
    token, _ = await tokenized(stub)
    await stub.ResolveToken(resolve(token), metadata=as_(ROUTER))
    for database in (server.settings.vault_database, server.settings.audit_database):
        with sqlite3.connect(database) as conn:
            tables = [
                row[0]
                for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
            for table in tables:
                for row in conn.execute(f"SELECT * FROM {table}"):
                    flat = " ".join(
                        value.decode("latin-1") if isinstance(value, bytes) else str(value)
                        for value in row
                    )
                    assert EMAIL not in flat, (database, table)


@pytest.mark.parametrize(
    ("request_for", "code", "reason"),
    [
        (
            lambda token: resolve(token, roles=("operator",)),
            grpc.StatusCode.PERMISSION_DENIED,
            "RBAC_DENIED",
        ),
        (lambda token: resolve(token, tenant="globex"), grpc.StatusCode.NOT_FOUND, ""),
        (lambda token: resolve("tok_" + "0" * 32), grpc.StatusCode.NOT_FOUND, ""),
    ],
    ids=["without-the-role", "another-tenant", "unknown-token"],
)
async def test_who_cannot_resolve_a_token(tokenizing, request_for, code, reason):
    _, stub = tokenizing
    token, _ = await tokenized(stub)
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await stub.ResolveToken(request_for(token), metadata=as_(ROUTER))
    assert failure.value.code() == code
    assert EMAIL not in failure.value.details()
    if reason:
        assert details_of(failure.value)[0].reason == reason


async def test_resolve_requests_are_validated_and_reserved_to_the_mesh(tokenizing):
    _, stub = tokenizing
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await stub.ResolveToken(resolve("[EMAIL:tok_x]"), metadata=as_(ROUTER))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(failure.value)[1][0][0] == "token"
    officer = identity.Identity("user:pia", "acme", ("privacy-officer",), "user")
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await stub.ResolveToken(resolve("tok_" + "0" * 32), metadata=as_(officer))
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_sealed_value_moved_to_another_tenant_or_opened_with_another_key_fails(tmp_path):
    vault = TokenVault(SqliteTokenStore(tmp_path / "tokens.db"), b"k" * 32)
    await vault.keep("acme", [Tokenized("tok_" + "1" * 32, "EMAIL", EMAIL)])
    assert await vault.resolve("acme", "tok_" + "1" * 32) == ("EMAIL", EMAIL)
    assert await vault.resolve("globex", "tok_" + "1" * 32) is None
    await vault.close()
    with sqlite3.connect(tmp_path / "tokens.db") as conn:
        conn.execute("UPDATE tokens SET tenant = 'globex'")
    moved = TokenVault(SqliteTokenStore(tmp_path / "tokens.db"), b"k" * 32)
    with pytest.raises(VaultError):
        await moved.resolve("globex", "tok_" + "1" * 32)
    await moved.close()
    rekeyed = TokenVault(SqliteTokenStore(tmp_path / "tokens.db"), b"x" * 32)
    with pytest.raises(VaultError):
        await rekeyed.resolve("globex", "tok_" + "1" * 32)
    await rekeyed.close()


async def test_the_public_audit_service_resolves_tokens_for_authorized_people_only(tokenizing):
    server, stub = tokenizing
    token, _ = await tokenized(stub)
    audit = server.audit()
    officer = as_(user("privacy-officer", principal="user:pia"))
    reply = await audit.ResolveToken(
        observability_pb2.ResolveTokenRequest(token=token), metadata=officer
    )
    assert (reply.value, reply.entity) == (EMAIL, "EMAIL") and reply.decision_id
    for who in (user("operator"), user("privacy-officer", tenant="globex")):
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await audit.ResolveToken(
                observability_pb2.ResolveTokenRequest(token=token), metadata=as_(who)
            )
        assert failure.value.code() in (
            grpc.StatusCode.PERMISSION_DENIED,
            grpc.StatusCode.NOT_FOUND,
        )
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await audit.ResolveToken(observability_pb2.ResolveTokenRequest(), metadata=officer)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
