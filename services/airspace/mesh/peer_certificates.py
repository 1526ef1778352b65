"""Which mesh service a caller's verified client certificate names.

With mutual TLS a server knows the calling process from its certificate, which the
mesh's CA signed: a certificate names its service as the URI
spiffe://airspace/service/<service> or the DNS name <service>.airspace, in its subject
alternative names or its common name. A signed mesh identity that claims another
service than the certificate names is refused, so a process holding one service's
certificate and the mesh key cannot speak as another service. A certificate that names
no service (or a plaintext mesh) leaves the signed identity as the only source.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import grpc

from airspace.mesh import errors, identity

SPIFFE_PREFIX = "spiffe://airspace/service/"
DNS_SUFFIX = ".airspace"
# Where grpc puts a verified peer certificate's names in a call's auth context.
_NAME_PROPERTIES = ("x509_subject_alternative_name", "x509_common_name")
_SHOWN = 64  # characters of a name a refusal repeats


def spiffe_id(service: str) -> str:
    return f"{SPIFFE_PREFIX}{service}"


def dns_name(service: str) -> str:
    return f"{service}{DNS_SUFFIX}"


def _service_named(name: str) -> str | None:
    if name.startswith(SPIFFE_PREFIX):
        service = name.removeprefix(SPIFFE_PREFIX)
    elif name.endswith(DNS_SUFFIX):
        service = name.removesuffix(DNS_SUFFIX)
    else:
        return None
    return service if service and "/" not in service and "." not in service else None


def certified_services(auth_context: Mapping[str, Iterable[bytes]]) -> frozenset[str]:
    """The services a call's peer certificate names (none without a certificate)."""
    services = set()
    for prop in _NAME_PROPERTIES:
        for value in auth_context.get(prop, ()):
            service = _service_named(value.decode(errors="replace"))
            if service is not None:
                services.add(service)
    return frozenset(services)


def check(caller: identity.Identity, context: grpc.aio.ServicerContext) -> None:
    """PermissionDenied when the call's certificate names services and `caller`, a mesh
    identity, is none of them."""
    if caller.kind != "mesh":  # a person's identity forwarded by a mesh service
        return
    certified = certified_services(context.auth_context())
    if not certified or identity.service_of(caller) in certified:
        return
    raise errors.PermissionDenied(
        f"the caller's certificate names the service {', '.join(sorted(certified))[:_SHOWN]}, "
        f"but its mesh identity claims {caller.principal[:_SHOWN]!r}",
        reason="CERTIFICATE_IDENTITY_MISMATCH",
    )
