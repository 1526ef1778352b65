"""TLS and mutual TLS on real servers: the mesh's own certificates get through, plaintext
clients, clients without a certificate and certificates of another CA are refused; a public
edge serves TLS without demanding client certificates; settings that cannot work are refused."""

from __future__ import annotations

import pathlib

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from airspace.cli import local_ca
from airspace.mesh import channels, errors, identity
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
def mesh_certs(tmp_path) -> local_ca.MeshCertificates:
    return local_ca.ensure(tmp_path / "tls")


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


async def started(settings: ServerSettings) -> tuple[MeshServer, str]:
    server = MeshServer("probe", settings)
    port = await server.start()
    return server, f"127.0.0.1:{port}"


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
        service = identity.Identity("service:probe", "*", ("mesh",), "mesh")
        async with channels.open_channel(address, settings, as_identity=service) as channel:
            assert await health(channel) == "SERVING"
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
    first = local_ca.ensure(tmp_path / "tls")
    made = {path: path.read_bytes() for path in (first.ca, first.cert, first.key)}
    again = local_ca.ensure(tmp_path / "tls")
    assert {path: path.read_bytes() for path in (again.ca, again.cert, again.key)} == made
    for key in (first.key, tmp_path / "tls" / "ca-key.pem"):
        assert key.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "tls").stat().st_mode & 0o777 == 0o700
