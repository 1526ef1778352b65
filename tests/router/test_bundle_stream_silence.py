"""A bundle stream that stops delivering without closing (a half-open connection), over
real gRPC: the router's feed counts its staleness bound from the last message received,
so it fails closed with BUNDLE_STALE though the stream is still open, and opens the
stream again."""

from __future__ import annotations

import asyncio
import time

import pytest
from bundle_messages import HASH_KEY, STALENESS, Clock, bundle, default_document

from airspace.mesh import channels, errors
from airspace.mesh.reasons import Reason
from airspace.mesh.server import MeshServer
from airspace.mesh.settings import ServerSettings
from airspace.policy.v1 import policy_pb2_grpc
from airspace.router.local_policy.bundle_feed import BundleFeed
from airspace.router.repositories.grpc_repositories import GrpcBundleSource

pytestmark = pytest.mark.mesh
KEY = b"k" * 32


class SilentPolicy(policy_pb2_grpc.PolicyServiceServicer):
    """Sends the bundle on every stream it opens, then nothing, and never closes it."""

    def __init__(self) -> None:
        self.opened = 0

    async def WatchBundle(self, request, context):
        self.opened += 1
        yield bundle(default_document())
        await asyncio.Event().wait()


@pytest.fixture
async def silent():
    policy = SilentPolicy()
    server = MeshServer("policy", ServerSettings(port=0, mesh_key=KEY))
    server.add_service(policy_pb2_grpc.add_PolicyServiceServicer_to_server, policy)
    port = await server.start()
    settings = ServerSettings(mesh_key=KEY)
    channel = channels.open_channel(
        f"127.0.0.1:{port}", settings, as_identity=channels.mesh_identity("router")
    )
    yield policy, GrpcBundleSource(policy_pb2_grpc.PolicyServiceStub(channel))
    await channel.close()
    await server.stop(0)


def feed_of(source: GrpcBundleSource, clock=time.monotonic, **bounds) -> BundleFeed:
    feed = BundleFeed(source, HASH_KEY, first_bundle_seconds=60.0, clock=clock, **bounds)
    feed.start()
    return feed


async def test_a_stream_silent_past_the_bound_is_stale_though_still_open(silent):
    policy, source = silent
    clock = Clock()
    feed = feed_of(source, clock, staleness_seconds=STALENESS)
    try:
        assert (await feed.engine()).bundle.version == "2025.11.0"
        clock.now += STALENESS + 1
        with pytest.raises(errors.Unavailable) as stale:
            await feed.engine()
        assert stale.value.reason == Reason.BUNDLE_STALE
        assert policy.opened == 1  # the stream never broke
    finally:
        await feed.close()


async def test_a_silent_stream_is_opened_again(silent):
    policy, source = silent
    feed = feed_of(source, staleness_seconds=0.0, keepalive_grace_seconds=0.05)
    try:
        for _ in range(500):
            if policy.opened >= 2:
                break
            await asyncio.sleep(0.01)
        assert policy.opened >= 2
    finally:
        await feed.close()
