"""The container health check against a real server: SERVING, an unknown service, a
server that stopped."""

import asyncio

import pytest

from airspace.cli.processes import free_port
from airspace.mesh import healthcheck, server
from airspace.mesh.settings import ServerSettings

pytestmark = pytest.mark.mesh


async def run_check(*argv: str) -> int:
    # The check is a blocking client; the server under test runs on this loop.
    return await asyncio.to_thread(healthcheck.main, list(argv))


async def test_the_health_check_passes_while_the_server_serves_and_fails_once_it_stopped(capsys):
    srv = server.MeshServer("probe", ServerSettings())
    address = f"127.0.0.1:{await srv.start()}"
    try:
        assert await run_check(address) == 0
        assert await run_check(address, "--service", "grpc.health.v1.Health") == 1
    finally:
        await srv.stop(0)
    assert await run_check(address, "--timeout", "0.5") == 1
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"{address} (server): SERVING"
    assert "NOT_FOUND" in printed[1]
    assert "UNAVAILABLE" in printed[2]


async def test_without_an_address_it_checks_the_port_the_environment_names(monkeypatch):
    port = free_port()
    monkeypatch.setenv("AIRSPACE_PORT", str(port))
    srv = server.MeshServer("probe", ServerSettings(port=port))
    await srv.start()
    try:
        assert await run_check() == 0
    finally:
        await srv.stop(0)
