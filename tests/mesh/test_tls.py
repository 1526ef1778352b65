"""TLS and mutual TLS on real servers: the mesh's own certificates get through, plaintext
clients, clients without a certificate and certificates of another CA are refused; a public
edge serves TLS without demanding client certificates; settings that cannot work are refused.
Under mutual TLS a mesh identity must be the service the caller's certificate names."""

from __future__ import annotations

import pathlib

import grpc
import pytest
from cryptography import x509
from grpc_health.v1 import health_pb2, health_pb2_grpc

from airspace.agent.v1 import agent_pb2, agent_pb2_grpc
from airspace.cli import local_ca
from airspace.mesh import channels, errors, identity, peer_certificates
from airspace.mesh.server import MeshServer
from airspace.mesh.settings import ServerSettings

pytestmark = pytest.mark.mesh
KEY = b"k" * 32


def tls_settings(certificates: local_ca.MeshCertificates, **extra) -> ServerSettings:
    return ServerSettings(
        port=0,
        mesh_key=KEY,
        tls_cert_file=str(certificates.cert),
        tls_key_file=str(certificates.key),
        tls_ca_file=str(certificates.ca),
        **extra,
    )


@pytest.fixture
def local(tmp_path) -> local_ca.LocalCa:
    return local_ca.ensure(tmp_path / "tls")


@pytest.fixture
def mesh_certs(local) -> local_ca.MeshCertificates:
    return local.service("state")


@pytest.fixture
def foreign_certs(tmp_path) -> local_ca.MeshCertificates:
    """A leaf of another CA, valid for the same hosts."""
    folder = tmp_path / "foreign"
    folder.mkdir()
    ca_key, ca_cert = local_ca.issue_ca("Someone else's CA")
    key, cert = local_ca.issue_leaf(ca_key, ca_cert, "intruder")
    files = local_ca.MeshCertificates(folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    local_ca.write_cert(files.ca, ca_cert)
    local_ca.write_cert(files.cert, cert)
    local_ca.write_key(files.key, key)
    return files


class CallerCard(agent_pb2_grpc.AgentServiceServicer):
    """Answers with the verified caller's principal: a service that needs an identity."""

    async def GetAgentCard(self, request, context):
        return agent_pb2.GetAgentCardResponse(
            card=agent_pb2.AgentCard(name=identity.require().principal)
        )


async def started(settings: ServerSettings) -> tuple[MeshServer, str]:
    server = MeshServer("probe", settings)
    server.add_service(agent_pb2_grpc.add_AgentServiceServicer_to_server, CallerCard())
    port = await server.start()
    return server, f"127.0.0.1:{port}"


async def caller_seen(address: str, certificates, who: identity.Identity) -> str:
    """The principal the server saw, for a call over `certificates` as `who`."""
    async with channels.open_channel(
        address, tls_settings(certificates), as_identity=who
    ) as channel:
        reply = await agent_pb2_grpc.AgentServiceStub(channel).GetAgentCard(
            agent_pb2.GetAgentCardRequest(), timeout=5
        )
    return reply.card.name


async def health(channel: grpc.aio.Channel) -> str:
    reply = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(), timeout=5
    )
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


async def refused(channel: grpc.aio.Channel) -> grpc.StatusCode:
    async with channel:
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await health(channel)
    return failure.value.code()


def credentials(ca: pathlib.Path, own: local_ca.MeshCertificates | None = None):
    return grpc.ssl_channel_credentials(
        ca.read_bytes(),
        own.key.read_bytes() if own else None,
        own.cert.read_bytes() if own else None,
    )


async def test_mesh_channels_get_through_mutual_tls(mesh_certs):
    settings = tls_settings(mesh_certs)
    server, address = await started(settings)
    try:
        itself = channels.mesh_identity("state")
        async with channels.open_channel(address, settings, as_identity=itself) as channel:
            assert await health(channel) == "SERVING"
    finally:
        await server.stop(0)


def test_each_service_certificate_names_its_service(local):
    for service in local_ca.SERVICES:
        cert = x509.load_pem_x509_certificate(local.service(service).cert.read_bytes())
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert names.get_values_for_type(x509.UniformResourceIdentifier) == [
            f"spiffe://airspace/service/{service}"
        ]
        assert f"{service}.airspace" in names.get_values_for_type(x509.DNSName)


def test_only_names_in_the_mesh_s_forms_name_a_service():
    names = [b"spiffe://airspace/service/router", b"state.airspace", b"localhost", b"127.0.0.1"]
    others = [
        b"spiffe://other/service/x",
        b"a.b.airspace",
        b".airspace",
        b"spiffe://airspace/service/",
    ]
    assert peer_certificates.certified_services(names + others) == {"router", "state"}
    assert peer_certificates.certified_services(None) == frozenset()


async def test_a_service_is_served_as_the_service_its_certificate_names(local):
    server, address = await started(tls_settings(local.service("policy")))
    try:
        router = channels.mesh_identity("router")
        assert await caller_seen(address, local.service("router"), router) == "service:router"
        # A person's identity that the router forwards is not a service's claim.
        person = identity.Identity("user:alice", "acme", ("operator",))
        assert await caller_seen(address, local.service("router"), person) == "user:alice"
    finally:
        await server.stop(0)


async def test_the_state_certificate_claiming_to_be_the_router_is_refused(local):
    server, address = await started(tls_settings(local.service("policy")))
    try:
        with pytest.raises(grpc.aio.AioRpcError) as refusal:
            await caller_seen(address, local.service("state"), channels.mesh_identity("router"))
    finally:
        await server.stop(0)
    assert refusal.value.code() == grpc.StatusCode.PERMISSION_DENIED
    [info] = [d for d in errors.status_details(refusal.value) if d.DESCRIPTOR.name == "ErrorInfo"]
    assert info.reason == "CERTIFICATE_IDENTITY_MISMATCH"
    assert "state" in refusal.value.details() and "service:router" in refusal.value.details()


async def test_a_certificate_naming_no_service_leaves_the_signed_identity(local, tmp_path):
    ca_key, ca_cert = local.authority()
    key, cert = local_ca.issue_leaf(ca_key, ca_cert, "an agent of your own")
    own = local_ca.MeshCertificates(local.ca, tmp_path / "own.pem", tmp_path / "own-key.pem")
    local_ca.write_cert(own.cert, cert)
    local_ca.write_key(own.key, key)
    server, address = await started(tls_settings(local.service("policy")))
    try:
        assert await caller_seen(address, own, channels.mesh_identity("router")) == (
            "service:router"
        )
    finally:
        await server.stop(0)


async def test_plaintext_no_certificate_and_another_cas_certificate_are_refused(
    mesh_certs, foreign_certs
):
    server, address = await started(tls_settings(mesh_certs))
    try:
        assert await refused(grpc.aio.insecure_channel(address)) == grpc.StatusCode.UNAVAILABLE
        without_cert = grpc.aio.secure_channel(address, credentials(mesh_certs.ca))
        assert await refused(without_cert) == grpc.StatusCode.UNAVAILABLE
        # The intruder trusts the mesh CA, but its own certificate is another CA's.
        intruder = grpc.aio.secure_channel(address, credentials(mesh_certs.ca, foreign_certs))
        assert await refused(intruder) == grpc.StatusCode.UNAVAILABLE
    finally:
        await server.stop(0)


async def test_a_server_of_another_ca_is_not_trusted_by_the_mesh(mesh_certs, foreign_certs):
    server, address = await started(tls_settings(foreign_certs))
    try:
        async with channels.open_channel(address, tls_settings(mesh_certs)) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as failure:
                await health(channel)
        assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await server.stop(0)


async def test_a_public_edge_serves_tls_to_clients_without_certificates(mesh_certs):
    server, address = await started(tls_settings(mesh_certs, tls_client_auth=False))
    try:
        async with grpc.aio.secure_channel(address, credentials(mesh_certs.ca)) as channel:
            assert await health(channel) == "SERVING"
        assert await refused(grpc.aio.insecure_channel(address)) == grpc.StatusCode.UNAVAILABLE
    finally:
        await server.stop(0)


def test_a_certificate_without_its_key_is_refused_naming_the_setting(mesh_certs):
    with pytest.raises(errors.InvalidArgument) as refusal:
        ServerSettings(tls_cert_file=str(mesh_certs.cert))
    assert refusal.value.violations[0][0] == "tls_key_file"


async def test_an_unreadable_certificate_file_is_named(tmp_path, mesh_certs):
    settings = tls_settings(mesh_certs)
    settings.tls_cert_file = str(tmp_path / "missing.pem")
    with pytest.raises(errors.InvalidArgument) as refusal:
        await started(settings)
    assert refusal.value.violations[0][0] == "tls_cert_file"
    assert "missing.pem" in refusal.value.message


def test_the_local_ca_is_made_once_with_private_keys_only_its_owner_reads(tmp_path):
    folder = tmp_path / "tls"
    local_ca.ensure(folder)
    made = {path: path.read_bytes() for path in folder.iterdir()}
    local_ca.ensure(folder)
    assert {path: path.read_bytes() for path in folder.iterdir()} == made
    keys = [path for path in made if path.name.endswith("key.pem")]
    assert len(keys) == 1 + len(local_ca.SERVICES)
    for key in keys:
        assert key.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "tls").stat().st_mode & 0o777 == 0o700
