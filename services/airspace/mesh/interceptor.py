"""The one server interceptor: identity, trace context, deadline and error mapping.

Every handler runs with the verified caller bound (identity.current()) — under mutual
TLS, a mesh identity only if the caller's certificate names the same service
(peer_certificates) — the
caller's trace context attached, and its deadline recorded; a MeshError becomes a
status with google.rpc details, anything else an INTERNAL status with an
incident id and no internals leaked.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid

import grpc
from grpc_status import rpc_status
from opentelemetry import context as otel_context

from airspace.mesh import deadlines, errors, identity, metrics, peer_certificates, telemetry

log = logging.getLogger("airspace.mesh")

# Standard infrastructure services any client may call without an identity.
OPEN_SERVICES = frozenset(
    {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    }
)

# More methods than any server registers; unknown paths find no handler and are not kept.
MAX_WRAPPED_METHODS = 1024


class MeshInterceptor(grpc.aio.ServerInterceptor):
    def __init__(
        self,
        mesh_key: bytes,
        authenticate: bool,
        anonymous_services: set[str],
        *,
        count_rpcs: bool = False,
        verified_certificates: bool = False,
    ):
        """`verified_certificates`: every caller presents a client certificate the mesh's
        CA signed (mutual TLS), so the service it names can be believed."""
        self._key = mesh_key
        self._authenticate = authenticate
        self._anonymous = anonymous_services
        self._count_rpcs = count_rpcs
        self._verified_certificates = verified_certificates
        # Each method's handler as found and as wrapped: wrapped once, not on every call.
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(self, continuation, details):
        handler = await continuation(details)
        if handler is None:
            return None
        known = self._wrapped.get(details.method)
        if known is not None and known[0] is handler:
            return known[1]
        service = details.method.rsplit("/", 2)[1] if details.method.count("/") >= 2 else ""
        needs_identity = service not in OPEN_SERVICES and service not in self._anonymous
        method = details.method if self._count_rpcs else None
        wrapped = _wrap(handler, self._prepare(needs_identity), method)
        if len(self._wrapped) < MAX_WRAPPED_METHODS:  # bounded whatever paths clients send
            self._wrapped[details.method] = (handler, wrapped)
        return wrapped

    def _prepare(self, needs_identity: bool):
        key, authenticate, certificates = self._key, self._authenticate, self._verified_certificates

        def prepare(context: grpc.aio.ServicerContext):
            """Binds the caller's identity, trace context and deadline to this RPC's task."""
            metadata = context.invocation_metadata() or ()
            deadlines.bind(context.time_remaining())
            otel_context.attach(telemetry.extract(metadata))
            if not authenticate:  # not a mesh member (agents) or authenticates itself (gateway)
                return
            token = next((v for k, v in metadata if k == identity.METADATA_KEY), None)
            if isinstance(token, str):  # a text header: its key has no -bin suffix
                caller = identity.verify(token, key)
                if certificates:
                    peer_certificates.check(caller, context)
                identity.bind(caller)
            elif needs_identity:
                raise errors.Unauthenticated(
                    "missing mesh identity; call through the gateway", reason="MISSING_IDENTITY"
                )

        return prepare


def as_reported(error: Exception) -> errors.MeshError:
    """The error as a caller may see it: an unexpected one is logged (call this in its
    `except` block) and reported as INTERNAL naming only the incident."""
    if isinstance(error, errors.MeshError):
        return error
    incident = uuid.uuid4().hex[:12]
    log.exception("unhandled error (incident %s)", incident)
    return errors.Internal(f"internal error (incident {incident})")


async def abort(context: grpc.aio.ServicerContext, error: Exception):
    status = rpc_status.to_status(as_reported(error).to_status())
    await context.abort(status.code, status.details, status.trailing_metadata)


def _unary_response(inner, prepare, rpc: metrics.RpcMetrics | None):
    async def behavior(request_or_iterator, context):
        started, cancelled = time.perf_counter(), False
        try:
            prepare(context)
            return await inner(request_or_iterator, context)
        except grpc.aio.AbortError:
            raise
        except asyncio.CancelledError:
            cancelled = True
            raise
        except Exception as exc:
            await abort(context, exc)
        finally:
            if rpc is not None:
                rpc.record(context, started, cancelled)

    return behavior


def _streaming_response(inner, prepare, rpc: metrics.RpcMetrics | None):
    async def behavior(request_or_iterator, context):
        started, cancelled = time.perf_counter(), False
        try:
            prepare(context)
            responses = inner(request_or_iterator, context)
            if inspect.isasyncgen(responses):
                async for response in responses:
                    yield response
            else:  # a handler that writes with context.write()
                await responses
        except grpc.aio.AbortError:
            raise
        except asyncio.CancelledError:
            cancelled = True
            raise
        except Exception as exc:
            await abort(context, exc)
        finally:
            if rpc is not None:
                rpc.record(context, started, cancelled)

    return behavior


def _wrap(handler: grpc.RpcMethodHandler, prepare, method: str | None):
    """The handler run through prepare and error mapping; counted when `method` is given."""
    codec = (handler.request_deserializer, handler.response_serializer)

    def counted(rpc_type: str) -> metrics.RpcMetrics | None:
        return metrics.rpc(method, rpc_type) if method is not None else None

    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            _unary_response(handler.unary_unary, prepare, counted("unary")), *codec
        )
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            _streaming_response(handler.unary_stream, prepare, counted("server_stream")), *codec
        )
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(
            _unary_response(handler.stream_unary, prepare, counted("client_stream")), *codec
        )
    return grpc.stream_stream_rpc_method_handler(
        _streaming_response(handler.stream_stream, prepare, counted("bidi_stream")), *codec
    )
