"""airspace.v1.ApiKeyService on the real gateway, and `airspace keys`: keys created,
listed without secrets and revoked by the admins of their tenant or of the mesh;
revoked and expired keys refused; a tenant admin refused on another tenant."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf import duration_pb2
from mesh_support import Client, error_info

from airspace.cli.main import main
from airspace.v1 import api_key_pb2, api_key_pb2_grpc, run_pb2

pytestmark = pytest.mark.mesh


def keys_of(client: Client) -> api_key_pb2_grpc.ApiKeyServiceStub:
    return api_key_pb2_grpc.ApiKeyServiceStub(client.channel)


def with_key(client: Client, key: str) -> Client:
    return Client(client.channel, (("authorization", f"Bearer {key}"),))


async def list_runs(client: Client) -> run_pb2.ListRunsResponse:
    return await client.runs.ListRuns(run_pb2.ListRunsRequest(), metadata=client.metadata)


async def refused(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call
    return failure.value


async def test_a_tenant_admin_creates_lists_and_revokes_a_key(mesh):
    admin = mesh.client("user:ada", "acme", ("admin",))
    created = await keys_of(admin).CreateApiKey(
        api_key_pb2.CreateApiKeyRequest(
            principal="service:billing",
            roles=["operator", "viewer"],
            ttl=duration_pb2.Duration(seconds=30 * 86400),
        ),
        metadata=admin.metadata,
    )
    key = created.api_key
    assert created.key.startswith(f"ask_{key.key_id}_")
    assert (key.name, key.tenant, list(key.roles)) == (
        f"apiKeys/{key.key_id}",
        "acme",
        ["operator", "viewer"],
    )
    assert key.created_by == "user:ada" and key.HasField("expire_time")
    billing = with_key(admin, created.key)
    await list_runs(billing)  # the new key works

    listed = await keys_of(admin).ListApiKeys(
        api_key_pb2.ListApiKeysRequest(), metadata=admin.metadata
    )
    [found] = [k for k in listed.api_keys if k.key_id == key.key_id]
    assert found == key and created.key not in str(listed)
    assert {k.tenant for k in listed.api_keys} == {"acme"}

    revoked = await keys_of(admin).RevokeApiKey(
        api_key_pb2.RevokeApiKeyRequest(key_id=key.key_id), metadata=admin.metadata
    )
    assert revoked.api_key.HasField("revoke_time")
    failure = await refused(list_runs(billing))
    assert failure.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "revoked" in failure.details() and error_info(failure).reason == "INVALID_API_KEY"


async def test_an_expired_key_is_refused(mesh):
    key, _ = mesh.keys.issue("user:old", "acme", ("operator",), ttl_seconds=-1)
    failure = await refused(list_runs(with_key(mesh.client(), key)))
    assert failure.code() == grpc.StatusCode.UNAUTHENTICATED and "expired" in failure.details()


async def test_a_tenant_admin_manages_only_its_tenant_and_mesh_admins_every_one(mesh):
    admin = mesh.client("user:ada", "acme", ("admin",))
    operator = mesh.client("user:olivia", "acme", ("operator",))
    mesh_admin = mesh.client("user:root", "ops", ("mesh-admin",))
    other, _ = mesh.keys.issue("user:gus", "globex", ("operator",))
    other_id = other.split("_")[1]
    attempts = [
        (admin, "CreateApiKey", {"tenant": "globex", "principal": "user:x", "roles": ["admin"]}),
        (admin, "ListApiKeys", {"tenant": "globex"}),
        (admin, "CreateApiKey", {"principal": "user:x", "roles": ["mesh-admin"]}),
        (operator, "CreateApiKey", {"principal": "user:x", "roles": ["operator"]}),
        (operator, "ListApiKeys", {}),
    ]
    for caller, method, fields in attempts:
        request_class = getattr(api_key_pb2, f"{method}Request")
        call = getattr(keys_of(caller), method)(request_class(**fields), metadata=caller.metadata)
        failure = await refused(call)
        assert failure.code() == grpc.StatusCode.PERMISSION_DENIED, (method, fields)
        assert error_info(failure).reason == "PERMISSION_DENIED"
    failure = await refused(
        keys_of(admin).RevokeApiKey(
            api_key_pb2.RevokeApiKeyRequest(key_id=other_id), metadata=admin.metadata
        )
    )
    assert failure.code() == grpc.StatusCode.NOT_FOUND
    await list_runs(with_key(admin, other))  # still valid

    listed = await keys_of(mesh_admin).ListApiKeys(
        api_key_pb2.ListApiKeysRequest(tenant="globex"), metadata=mesh_admin.metadata
    )
    assert [k.key_id for k in listed.api_keys] == [other_id]
    await keys_of(mesh_admin).RevokeApiKey(
        api_key_pb2.RevokeApiKeyRequest(key_id=other_id), metadata=mesh_admin.metadata
    )
    assert (await refused(list_runs(with_key(admin, other)))).code() == (
        grpc.StatusCode.UNAUTHENTICATED
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"principal": "", "roles": ["operator"]}, "principal"),
        ({"principal": "user:x", "roles": []}, "roles"),
        ({"principal": "user:x", "roles": ["Not A Role"]}, "roles[0]"),
        ({"principal": "user:x", "roles": ["operator"], "ttl": {"seconds": -5}}, "ttl"),
        ({"principal": "x" * 5000, "roles": ["operator"]}, "principal"),
    ],
)
async def test_a_bad_key_request_names_its_field(mesh, fields, field):
    admin = mesh.client("user:ada", "acme", ("admin",))
    request = api_key_pb2.CreateApiKeyRequest(**fields)
    failure = await refused(keys_of(admin).CreateApiKey(request, metadata=admin.metadata))
    assert failure.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in failure.details() and len(failure.details()) < 200


async def test_airspace_keys_create_list_revoke(mesh, monkeypatch, capsys, tmp_path):
    admin_key = mesh.keys.create("user:ada", "acme", ("admin",))
    monkeypatch.setenv("AIRSPACE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AIRSPACE_GATEWAY", mesh.gateway)
    monkeypatch.setenv("AIRSPACE_API_KEY", admin_key)

    async def airspace(*argv: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(main, list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    code, out, err = await airspace(
        "keys",
        "create",
        "--principal",
        "service:ci",
        "--roles",
        "operator,viewer",
        "--expires",
        "30d",
    )
    assert code == 0 and "shown only this once" in err
    new_key = out.strip()
    key_id = new_key.split("_")[1]
    code, out, _ = await airspace("keys", "list")
    [row] = [line for line in out.splitlines() if key_id in line]
    assert row.split()[:4] == [key_id, "service:ci", "acme", "operator,viewer"]
    assert row.split()[-1] == "active" and new_key not in out
    code, out, _ = await airspace("keys", "revoke", key_id)
    assert (code, out.strip()) == (0, f"key {key_id} of service:ci is revoked")
    code, out, _ = await airspace("keys", "list")
    assert [line for line in out.splitlines() if key_id in line][0].split()[-1] == "revoked"
    code, _, err = await airspace("keys", "list", "--tenant", "globex")
    assert code == 2 and "PERMISSION_DENIED" in err
