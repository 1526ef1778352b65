"""The one channel factory: every outgoing call carries a deadline, an identity and trace context.

A call without an explicit timeout gets the channel's default, and never more
than the time left on the RPC being served (Python does not forward deadlines).
"""

from __future__ import annotations

import time

import grpc

from airspace.mesh import balancing, deadlines, errors, identity, telemetry, tls
from airspace.mesh.settings import ServerSettings


class _TokenSource:
    """Signs the identity to send, re-signing well before the token expires."""

    def __init__(self, key: bytes, fixed: identity.Identity | None, enabled: bool):
        self._key = key
        self._fixed = fixed
        self._enabled = enabled
        self._cached: tuple[identity.Identity, str, float] | None = None

    def token(self) -> str | None:
        who = self._fixed or identity.current()
        if who is None or not self._enabled:
            return None
        now = time.monotonic()
        if self._cached and self._cached[0] == who and self._cached[2] > now:
            return self._cached[1]
        token = identity.sign(who, self._key)
        self._cached = (who, token, now + identity.TOKEN_TTL_SECONDS / 2)
        return token


class _CallDecorator:
    """Adds the deadline, trace context and identity to an outgoing call's details."""

    def __init__(self, tokens: _TokenSource, default_timeout: float):
        self._tokens = tokens
        self._default_timeout = default_timeout

    def details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        timeout = deadlines.timeout_for(details.timeout, self._default_timeout)
        if timeout <= 0:
            raise errors.DeadlineExceeded(f"no time left to call {details.method}")
        metadata = [
            (k, v) for k, v in (details.metadata or ()) if k not in ("traceparent", "tracestate")
        ]
        metadata.extend(telemetry.inject())
        if not any(k == identity.METADATA_KEY for k, _ in metadata):
            token = self._tokens.token()
            if token is not None:
                metadata.append((identity.METADATA_KEY, token))
        return grpc.aio.ClientCallDetails(
            details.method,
            timeout,
            grpc.aio.Metadata(*metadata),
            details.credentials,
            details.wait_for_ready,
        )


# grpc.aio files an interceptor under the first call type it implements, so each
# call type needs an interceptor object of its own.
class _UnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, decorate: _CallDecorator):
        self._decorate = decorate

    async def intercept_unary_unary(self, continuation, details, request):
        return await continuation(self._decorate.details(details), request)


class _UnaryStream(grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, decorate: _CallDecorator):
        self._decorate = decorate

    async def intercept_unary_stream(self, continuation, details, request):
        return await continuation(self._decorate.details(details), request)


class _StreamUnary(grpc.aio.StreamUnaryClientInterceptor):
    def __init__(self, decorate: _CallDecorator):
        self._decorate = decorate

    async def intercept_stream_unary(self, continuation, details, request_iterator):
        return await continuation(self._decorate.details(details), request_iterator)


class _StreamStream(grpc.aio.StreamStreamClientInterceptor):
    def __init__(self, decorate: _CallDecorator):
        self._decorate = decorate

    async def intercept_stream_stream(self, continuation, details, request_iterator):
        return await continuation(self._decorate.details(details), request_iterator)


def open_channel(
    target: str,
    settings: ServerSettings,
    *,
    default_timeout: float = 5.0,
    as_identity: identity.Identity | None = None,
    send_identity: bool = True,
    balanced: bool = False,
) -> grpc.aio.Channel:
    """A channel to another mesh member. Calls carry `as_identity` (a mesh service's own
    identity) or, when None, the identity of the caller being served. Channels to agents,
    which are not mesh members, pass send_identity=False so no mesh token leaves the mesh.
    A `balanced` channel spreads calls round-robin over the replicas the target names
    (see balancing.py)."""
    decorate = _CallDecorator(
        _TokenSource(settings.mesh_key, as_identity, send_identity), default_timeout
    )
    upstream = balancing.upstream(target) if balanced else balancing.Upstream(target)
    options = [
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.enable_retries", 1),
        *upstream.options,
        *tls.channel_options(settings),
    ]
    interceptors = [
        cls(decorate) for cls in (_UnaryUnary, _UnaryStream, _StreamUnary, _StreamStream)
    ]
    credentials = tls.channel_credentials(settings)
    if credentials is None:
        return grpc.aio.insecure_channel(
            upstream.target, options=options, interceptors=interceptors
        )
    return grpc.aio.secure_channel(
        upstream.target, credentials, options=options, interceptors=interceptors
    )


def mesh_identity(service: str) -> identity.Identity:
    """The identity a mesh service uses for its own calls."""
    return identity.Identity(
        principal=f"{identity.SERVICE_PREFIX}{service}", tenant="*", roles=("mesh",), kind="mesh"
    )
