"""Real policy servers on 127.0.0.1 port 0 with a bundle folder and their data in a test's
tmp_path, and stubs that call them."""

from __future__ import annotations

import dataclasses
import pathlib
import shutil

import grpc
from policy_helpers import DEFAULT_BUNDLE, HASH_KEY, MESH_KEY

from airspace.mesh.server import MeshServer
from airspace.policy.audit.witness import Witness
from airspace.policy.service.main import build_server
from airspace.policy.service.settings import PolicySettings
from airspace.policy.v1 import policy_pb2_grpc
from airspace.v1 import observability_pb2_grpc


@dataclasses.dataclass
class Running:
    server: MeshServer
    settings: PolicySettings
    channel: grpc.aio.Channel

    @property
    def bundle_path(self) -> pathlib.Path:
        return self.settings.bundle_path

    def policy(self) -> policy_pb2_grpc.PolicyServiceStub:
        return policy_pb2_grpc.PolicyServiceStub(self.channel)

    def audit(self) -> observability_pb2_grpc.AuditServiceStub:
        return observability_pb2_grpc.AuditServiceStub(self.channel)

    async def stop(self) -> None:
        await self.channel.close()
        await self.server.stop(0)


def policy_settings(tmp_path: pathlib.Path, **overrides) -> PolicySettings:
    """Settings of a policy server keeping its data under `tmp_path` (the same on every
    call, so a server started again finds the same files)."""
    bundles = tmp_path / "bundles"
    if not bundles.exists():
        bundles.mkdir()
        shutil.copy(DEFAULT_BUNDLE, bundles / "default.yaml")
    return PolicySettings(
        data_dir=str(tmp_path / "data"),
        mesh_key=MESH_KEY,
        bundle_dir=str(bundles),
        hash_key=HASH_KEY,
        **overrides,
    )


async def start_policy(config: PolicySettings, witness: Witness | None = None) -> Running:
    srv = build_server(config, witness)
    port = await srv.start()
    return Running(srv, config, grpc.aio.insecure_channel(f"127.0.0.1:{port}"))
