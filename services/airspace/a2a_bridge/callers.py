"""Who is calling the bridge: the A2A caller's credentials, kept with each request."""

from __future__ import annotations

import grpc
from a2a.server.context import ServerCallContext
from a2a.server.request_handlers import DefaultGrpcServerCallContextBuilder

_AUTHORIZATION = "authorization"


class CallerContextBuilder(DefaultGrpcServerCallContextBuilder):
    """Keeps the caller's `authorization` metadata, which the bridge passes on to the
    gateway unchanged: the gateway decides who the caller is and what they may run."""

    def build(self, context: grpc.aio.ServicerContext) -> ServerCallContext:
        built = super().build(context)
        metadata = context.invocation_metadata() or ()
        built.state[_AUTHORIZATION] = next((v for k, v in metadata if k == _AUTHORIZATION), "")
        return built


def authorization_of(call_context: ServerCallContext | None) -> str:
    return call_context.state.get(_AUTHORIZATION, "") if call_context is not None else ""
