"""Where the gateway is and who the caller is, found without typing.

Gateway: --gateway, else AIRSPACE_GATEWAY, else the `gateway` of the credentials
file, else 127.0.0.1:50051. API key: AIRSPACE_API_KEY, else the credentials file
that `airspace up` writes to $AIRSPACE_HOME/credentials.json (default ./.airspace).
TLS: the CA to trust is AIRSPACE_TLS_CA_FILE, else the credentials file's `tls_ca_file`
(`airspace up --tls` writes it); without one the CLI dials plaintext.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import pathlib
from collections.abc import Mapping

import grpc

from airspace.cli.output import UsageError
from airspace.v1 import (
    admin_pb2_grpc,
    agent_registry_pb2_grpc,
    api_key_pb2_grpc,
    approval_pb2_grpc,
    observability_pb2_grpc,
    run_pb2_grpc,
    workflow_pb2_grpc,
)

DEFAULT_GATEWAY = "127.0.0.1:50051"
DEFAULT_HOME = ".airspace"
DEFAULT_TIMEOUT = 10.0


@dataclasses.dataclass(frozen=True)
class Target:
    """The gateway to call and the credentials to call it with."""

    gateway: str
    api_key: str = ""
    principal: str = ""
    tenant: str = ""
    tls_ca_file: str = ""


def credentials_path(env: Mapping[str, str] | None = None) -> pathlib.Path:
    env = os.environ if env is None else env
    return pathlib.Path(env.get("AIRSPACE_HOME") or DEFAULT_HOME) / "credentials.json"


def read_credentials(path: pathlib.Path) -> dict:
    """The credentials file's fields; empty when there is no file yet."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read credentials {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise UsageError(f"cannot read credentials {path}: expected a JSON object")
    return data


def resolve(gateway: str | None = None, env: Mapping[str, str] | None = None) -> Target:
    env = os.environ if env is None else env
    stored = read_credentials(credentials_path(env))
    return Target(
        gateway=gateway or env.get("AIRSPACE_GATEWAY") or stored.get("gateway") or DEFAULT_GATEWAY,
        api_key=env.get("AIRSPACE_API_KEY") or stored.get("api_key", ""),
        principal=stored.get("principal", ""),
        tenant=stored.get("tenant", ""),
        tls_ca_file=env.get("AIRSPACE_TLS_CA_FILE") or stored.get("tls_ca_file", ""),
    )


def _gateway_channel(target: Target) -> grpc.Channel:
    if not target.tls_ca_file:
        return grpc.insecure_channel(target.gateway)
    try:
        roots = pathlib.Path(target.tls_ca_file).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the TLS CA {target.tls_ca_file}: {exc.strerror}") from exc
    return grpc.secure_channel(target.gateway, grpc.ssl_channel_credentials(roots))


class _CallDetails(
    collections.namedtuple(
        "_CallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    pass


class _GatewayAuth(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds the API key to every call, and a deadline to unary calls that have none
    (streams that follow a run may legitimately last for days)."""

    def __init__(self, api_key: str, timeout: float):
        self._metadata = (("authorization", f"Bearer {api_key}"),) if api_key else ()
        self._timeout = timeout

    def _details(self, details, timeout):
        return _CallDetails(
            details.method,
            timeout,
            tuple(details.metadata or ()) + self._metadata,
            details.credentials,
            details.wait_for_ready,
            details.compression,
        )

    def intercept_unary_unary(self, continuation, details, request):
        timeout = self._timeout if details.timeout is None else details.timeout
        return continuation(self._details(details, timeout), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details, details.timeout), request)


class Client:
    """Stubs of the gateway's public services on one channel."""

    def __init__(self, target: Target, timeout: float = DEFAULT_TIMEOUT):
        self.target = target
        self.timeout = timeout
        self._channel = _gateway_channel(target)
        channel = grpc.intercept_channel(self._channel, _GatewayAuth(target.api_key, timeout))
        self.runs = run_pb2_grpc.RunServiceStub(channel)
        self.workflows = workflow_pb2_grpc.WorkflowServiceStub(channel)
        self.agents = agent_registry_pb2_grpc.AgentRegistryServiceStub(channel)
        self.approvals = approval_pb2_grpc.ApprovalServiceStub(channel)
        self.traces = observability_pb2_grpc.TraceServiceStub(channel)
        self.audit = observability_pb2_grpc.AuditServiceStub(channel)
        self.admin = admin_pb2_grpc.AdminServiceStub(channel)
        self.keys = api_key_pb2_grpc.ApiKeyServiceStub(channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def connect(args) -> Client:
    """A client for the gateway the command line (or the environment) points at."""
    gateway = getattr(args, "gateway", None)
    return Client(resolve(gateway), getattr(args, "timeout", DEFAULT_TIMEOUT))


def paged(method, request, field: str, limit: int) -> tuple[list, bool]:
    """Up to `limit` items of a paginated List call (AIP-158), and whether more exist."""
    items: list = []
    while True:
        request.page_size = min(limit - len(items), 1000)
        response = method(request)
        items.extend(getattr(response, field))
        more = bool(response.next_page_token)
        if not more or len(items) >= limit:
            return items[:limit], more
        request.page_token = response.next_page_token
