"""Forwards public calls, as raw bytes, to the service that owns them.

Requests are only parsed, not interpreted, here (the owner validates them): one that
cannot be decoded at all (malformed, or nested deeper than protobuf allows) is
refused with INVALID_ARGUMENT at the door instead of failing inside the owner, and a
run input over the gateway's cap with RESOURCE_EXHAUSTED, before any router holds it. For
every call the gateway authenticates the client, drops every header the client sent
(identity headers in particular), attaches a signed identity and its own trace
context, and passes the client's deadline on. Spans name the client by a keyed hash
of its principal (principals may be email addresses).
"""

from __future__ import annotations

import hashlib
import hmac

import grpc
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.message import DecodeError
from opentelemetry import trace

from airspace.gateway.admission import CallAdmission
from airspace.gateway.authn import Authenticator
from airspace.gateway.settings import GatewaySettings
from airspace.mesh import deadlines, errors, identity, telemetry
from airspace.mesh.reasons import Reason

_tracer = telemetry.tracer("airspace.gateway")
# What upb says when a message nests deeper than its limit (100 levels).
_TOO_DEEP = "MaxDepth"
# The request field that holds a run's input (StartRun, ExecuteRun).
_INPUT = "input"


def _relay_error(exc: grpc.aio.AioRpcError):
    """The owner's status, details included, as the client's status."""
    return exc.code(), exc.details(), tuple(exc.trailing_metadata() or ())


class Forwarder:
    def __init__(
        self,
        settings: GatewaySettings,
        authenticator: Authenticator,
        admission: CallAdmission,
        channel: grpc.aio.Channel,
    ):
        self._settings = settings
        self._authenticator = authenticator
        self._admission = admission
        self._channel = channel
        # A key of its own, so the span pseudonym reveals nothing about the mesh key.
        self._pseudonym_key = hmac.new(
            settings.mesh_key, b"airspace-gateway-enduser-id", hashlib.sha256
        ).digest()

    def handler(self, service_name: str) -> grpc.GenericRpcHandler:
        service = descriptor_pool.Default().FindServiceByName(service_name)
        handlers: dict[str, grpc.RpcMethodHandler[bytes, bytes]] = {}
        for method in service.methods:
            path = f"/{service_name}/{method.name}"
            if method.client_streaming:
                raise ValueError(f"{path}: client streaming is not part of the public API")
            request_type = message_factory.GetMessageClass(method.input_type)
            if method.server_streaming:
                handlers[method.name] = grpc.unary_stream_rpc_method_handler(
                    self._stream(path, request_type)
                )
            else:
                handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                    self._unary(path, request_type)
                )
        return grpc.method_handlers_generic_handler(service_name, handlers)

    async def _caller(
        self, context: grpc.aio.ServicerContext, request: bytes, request_type
    ) -> identity.Identity:
        caller = await self._authenticator.authenticate(context.invocation_metadata())
        identity.bind(caller)
        self._check_input_size(_decoded(request, request_type))
        return caller

    def _span(self, path: str, caller: identity.Identity):
        return _tracer.start_as_current_span(
            f"gateway {path.lstrip('/')}",
            kind=trace.SpanKind.SERVER,
            attributes={
                "rpc.system": "grpc",
                "rpc.method": path,
                "airspace.tenant": caller.tenant,
                "enduser.id": self.pseudonym(caller.principal),
            },
        )

    def _check_input_size(self, request) -> None:
        if _INPUT not in request.DESCRIPTOR.fields_by_name or not request.HasField(_INPUT):
            return
        size, limit = getattr(request, _INPUT).ByteSize(), self._settings.max_input_bytes
        if size > limit:
            raise errors.ResourceExhausted(
                f"input is {size} bytes, over the gateway's limit of {limit} bytes "
                "(AIRSPACE_GATEWAY_MAX_INPUT_BYTES)",
                reason=Reason.INPUT_TOO_LARGE,
                violations=[(_INPUT, f"at most {limit} bytes")],
                metadata={"limit": "AIRSPACE_GATEWAY_MAX_INPUT_BYTES", "max_bytes": str(limit)},
            )

    def pseudonym(self, principal: str) -> str:
        """The same for every call of one principal, and no clue to who it is."""
        digest = hmac.new(self._pseudonym_key, principal.encode(), hashlib.sha256)
        return "hmac:" + digest.hexdigest()[:24]

    def _unary(self, path: str, request_type):
        # Raw bytes both ways: the gateway relays messages without decoding them again.
        call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = self._channel.unary_unary(path)

        async def forward(request: bytes, context):
            caller = await self._caller(context, request, request_type)
            with self._admission.admit(caller, streaming=False), self._span(path, caller) as span:
                try:
                    return await call(
                        request,
                        timeout=deadlines.timeout_for(None, self._settings.unary_timeout_seconds),
                    )
                except grpc.aio.AioRpcError as exc:
                    span.set_status(trace.StatusCode.ERROR, exc.code().name)
                    await context.abort(*_relay_error(exc))

        return forward

    def _stream(self, path: str, request_type):
        call: grpc.aio.UnaryStreamMultiCallable[bytes, bytes] = self._channel.unary_stream(path)

        async def forward(request: bytes, context):
            caller = await self._caller(context, request, request_type)
            with self._admission.admit(caller, streaming=True), self._span(path, caller) as span:
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


def _decoded(request: bytes, request_type):
    try:
        return request_type.FromString(request)
    except DecodeError as exc:
        name = request_type.DESCRIPTOR.full_name
        why = "it nests deeper than protobuf allows" if _TOO_DEEP in str(exc) else "it is malformed"
        raise errors.InvalidArgument(
            f"the request is not a valid {name}: {why}", reason="MALFORMED_REQUEST"
        ) from exc
