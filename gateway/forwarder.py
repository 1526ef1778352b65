"""Forwards public calls, as raw bytes, to the service that owns them.

Requests are not decoded here (the owner validates them), which keeps the hop
cheap. For every call the gateway authenticates the client, drops every header
the client sent (identity headers in particular), attaches a signed identity and
its own trace context, and passes the client's deadline on.
"""

from __future__ import annotations

import grpc
from google.protobuf import descriptor_pool
from opentelemetry import trace

from gateway.authn import Authenticator
from gateway.settings import GatewaySettings
from services.mesh import deadlines, identity, telemetry

_tracer = telemetry.tracer("airspace.gateway")


def _relay_error(exc: grpc.aio.AioRpcError):
    """The owner's status, details included, as the client's status."""
    return exc.code(), exc.details(), tuple(exc.trailing_metadata() or ())


class Forwarder:
    def __init__(
        self, settings: GatewaySettings, authenticator: Authenticator, channel: grpc.aio.Channel
    ):
        self._settings = settings
        self._authenticator = authenticator
        self._channel = channel

    def handler(self, service_name: str) -> grpc.GenericRpcHandler:
        service = descriptor_pool.Default().FindServiceByName(service_name)
        handlers = {}
        for method in service.methods:
            path = f"/{service_name}/{method.name}"
            if method.client_streaming:
                raise ValueError(f"{path}: client streaming is not part of the public API")
            if method.server_streaming:
                handlers[method.name] = grpc.unary_stream_rpc_method_handler(self._stream(path))
            else:
                handlers[method.name] = grpc.unary_unary_rpc_method_handler(self._unary(path))
        return grpc.method_handlers_generic_handler(service_name, handlers)

    def _begin(self, path: str, context: grpc.aio.ServicerContext):
        caller = self._authenticator.authenticate(context.invocation_metadata())
        identity.bind(caller)
        return _tracer.start_as_current_span(
            f"gateway {path.lstrip('/')}",
            kind=trace.SpanKind.SERVER,
            attributes={
                "rpc.system": "grpc",
                "rpc.method": path,
                "airspace.tenant": caller.tenant,
                "enduser.id": caller.principal,
            },
        )

    def _unary(self, path: str):
        call = self._channel.unary_unary(path)

        async def forward(request: bytes, context):
            with self._begin(path, context) as span:
                try:
                    return await call(
                        request,
                        timeout=deadlines.timeout_for(None, self._settings.unary_timeout_seconds),
                    )
                except grpc.aio.AioRpcError as exc:
                    span.set_status(trace.StatusCode.ERROR, exc.code().name)
                    await context.abort(*_relay_error(exc))

        return forward

    def _stream(self, path: str):
        call = self._channel.unary_stream(path)

        async def forward(request: bytes, context):
            with self._begin(path, context) as span:
                responses = call(
                    request,
                    timeout=deadlines.timeout_for(None, self._settings.stream_timeout_seconds),
                )
                try:
                    async for response in responses:
                        yield response
                except grpc.aio.AioRpcError as exc:
                    span.set_status(trace.StatusCode.ERROR, exc.code().name)
                    await context.abort(*_relay_error(exc))
                finally:
                    responses.cancel()  # the client left: stop the owner's stream too

        return forward
