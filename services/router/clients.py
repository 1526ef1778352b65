"""Stubs for the services the router depends on, all built by the mesh channel factory."""

from __future__ import annotations

import asyncio
import random

import grpc

from airspace.policy.v1 import policy_pb2_grpc
from airspace.state.v1 import state_pb2_grpc
from airspace.trace.v1 import trace_pb2_grpc
from services.mesh import channels, errors
from services.router.settings import RouterSettings

# Codes that mean "the callee did not get to it": safe to try again.
TRANSIENT = (grpc.StatusCode.UNAVAILABLE,)


class MeshClients:
    def __init__(self, settings: RouterSettings):
        me = channels.mesh_identity("router")
        timeout = settings.internal_call_timeout_seconds
        self._channels = [
            channels.open_channel(endpoint, settings, default_timeout=timeout, as_identity=me)
            for endpoint in (
                settings.state_endpoint,
                settings.policy_endpoint,
                settings.trace_endpoint,
            )
        ]
        self.state = state_pb2_grpc.StateServiceStub(self._channels[0])
        self.policy = policy_pb2_grpc.PolicyServiceStub(self._channels[1])
        self.traces = trace_pb2_grpc.TraceQueryServiceStub(self._channels[2])

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()


async def call(method, request, *, attempts: int = 6, timeout: float | None = None):
    """Calls a mesh service, retrying while it is unavailable (restarting, say), and turns
    its error into the matching domain error so it reaches our caller unchanged."""
    delay, attempt = 0.1, 1
    while True:
        try:
            return await method(request, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in TRANSIENT or attempt >= attempts:
                raise errors.from_rpc_error(exc) from exc
        await asyncio.sleep(delay * random.uniform(0.5, 1.0))
        delay, attempt = min(delay * 2, 2.0), attempt + 1
