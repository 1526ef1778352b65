"""Who may export spans to the collector: credentials for mesh services and registered agents.

A credential names its sender — a mesh service, or an agent of a tenant — and is signed
with a key derived from the mesh key, so the collector checks it without a lookup and
nobody without the mesh key can make one. Exporters send it as the OTLP header
`authorization: Bearer <credential>`, which every stock OpenTelemetry exporter can do
(e.g. OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20<credential>). The router issues
an agent's credential when the agent is registered (RegisterAgentResponse); `airspace up`
gives its own processes theirs. Credentials do not expire: rotating the mesh key revokes
them all.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json

PREFIX = "atc_"
# The agent name of a credential that covers every agent of its tenant: a process hosting
# several agents exports all their spans with one credential.
ANY_AGENT = "*"
KINDS = ("service", "agent")
_CONTEXT = b"airspace telemetry credential v1"
# Longest credential worth decoding: a sender's names are short.
MAX_CREDENTIAL_CHARS = 1024


@dataclasses.dataclass(frozen=True)
class Sender:
    """Who sent spans: a mesh service (`name`), or an agent `name` of `tenant`."""

    kind: str
    name: str
    tenant: str = ""

    @property
    def label(self) -> str:
        return (
            f"service:{self.name}" if self.kind == "service" else f"agent:{self.tenant}/{self.name}"
        )


def service(name: str) -> Sender:
    return Sender("service", name)


def agent(tenant: str, name: str) -> Sender:
    return Sender("agent", name, tenant)


def _key(mesh_key: bytes) -> bytes:
    return hmac.new(mesh_key, _CONTEXT, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(mesh_key: bytes, sender: Sender) -> str:
    body = _b64(json.dumps([sender.kind, sender.tenant, sender.name]).encode())
    signature = _b64(hmac.new(_key(mesh_key), body.encode(), hashlib.sha256).digest())
    return f"{PREFIX}{body}.{signature}"


def verify(mesh_key: bytes, credential: str) -> Sender | None:
    """The sender a credential names, or None when the mesh key did not sign it."""
    if not credential.startswith(PREFIX) or len(credential) > MAX_CREDENTIAL_CHARS:
        return None
    body, _, signature = credential.removeprefix(PREFIX).partition(".")
    expected = _b64(hmac.new(_key(mesh_key), body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(signature, expected):
        return None
    try:
        kind, tenant, name = json.loads(_unb64(body))
    except (ValueError, TypeError):
        return None
    if kind not in KINDS or not isinstance(name, str) or not isinstance(tenant, str):
        return None
    return Sender(kind, name, tenant)


def export_headers(credential: str) -> dict[str, str]:
    """The OTLP exporter headers that carry a credential (none without one)."""
    return {"authorization": f"Bearer {credential}"} if credential else {}
