"""Which mesh service a caller's verified client certificate names.

With mutual TLS a server knows the calling process from its certificate, which the
mesh's CA signed: a certificate names its service as the URI
spiffe://airspace/service/<service> or the DNS name <service>.airspace, in its subject
alternative names (or its common name when it has none: grpc's peer identity). A signed
mesh identity that claims another service than the certificate names is refused, so a
process holding one service's certificate and the mesh key cannot speak as another
service. A certificate that names
no service (or a plaintext mesh) leaves the signed identity as the only source.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import grpc

from airspace.mesh import errors, identity

SPIFFE_PREFIX = "spiffe://airspace/service/"
DNS_SUFFIX = ".airspace"
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


def certified_services(peer_identities: Iterable[bytes] | None) -> frozenset[str]:
    """The services a call's peer identities (its certificate's names) name."""
    return _services_of(tuple(peer_identities or ()))


# A mesh has a few certificates and every call of a connection shows the same names.
@functools.lru_cache(maxsize=256)
def _services_of(names: tuple[bytes, ...]) -> frozenset[str]:
    named = (_service_named(value.decode(errors="replace")) for value in names)
    return frozenset(service for service in named if service is not None)


def check(caller: identity.Identity, context: grpc.aio.ServicerContext) -> None:
    """PermissionDenied when the call's certificate names services and `caller`, a mesh
    identity, is none of them."""
    if caller.kind != "mesh":  # a person's identity forwarded by a mesh service
        return
    # peer_identities(), not auth_context(): a tenth of the cost, on every mesh call.
    certified = certified_services(context.peer_identities())
    if not certified or identity.service_of(caller) in certified:
        return
    raise errors.PermissionDenied(
        f"the caller's certificate names the service {', '.join(sorted(certified))[:_SHOWN]}, "
        f"but its mesh identity claims {caller.principal[:_SHOWN]!r}",
        reason="CERTIFICATE_IDENTITY_MISMATCH",
    )
