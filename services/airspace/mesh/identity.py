"""Who is calling: a signed internal identity that only the gateway mints for clients.

The gateway authenticates a client, drops whatever identity headers the client sent,
and attaches a short-lived HS256 token signed with the mesh key. Services verify it
and never trust an unsigned header. Mesh services sign their own identity (kind
"mesh") when they call each other.
"""

from __future__ import annotations

import collections
import contextvars
import dataclasses
import time

import jwt

from airspace.mesh import errors

METADATA_KEY = "x-airspace-identity"
# Prefix of every header the mesh owns; the gateway strips these from clients.
MESH_HEADER_PREFIX = "x-airspace-"
KINDS = ("user", "service_account", "agent", "mesh")
# A mesh service's own identity is the principal "service:<service>".
SERVICE_PREFIX = "service:"
TOKEN_TTL_SECONDS = 300
_ALGORITHM = "HS256"
_AUDIENCE = "airspace-mesh"


@dataclasses.dataclass(frozen=True)
class Identity:
    principal: str
    tenant: str
    roles: tuple[str, ...] = ()
    kind: str = "user"

    def has_role(self, role: str) -> bool:
        return role in self.roles


def service_of(who: Identity) -> str | None:
    """The mesh service a mesh identity speaks for; None for anyone else."""
    if who.kind != "mesh" or not who.principal.startswith(SERVICE_PREFIX):
        return None
    return who.principal.removeprefix(SERVICE_PREFIX)


MIN_KEY_BYTES = 32  # HS256 wants a key at least as long as its hash (RFC 7518 3.2)


def _check_key(key: bytes) -> None:
    if len(key) < MIN_KEY_BYTES:
        raise errors.Internal(f"the mesh key must be at least {MIN_KEY_BYTES} bytes")


def sign(identity: Identity, key: bytes, ttl: float = TOKEN_TTL_SECONDS) -> str:
    _check_key(key)
    now = int(time.time())
    claims = {
        "sub": identity.principal,
        "tenant": identity.tenant,
        "roles": list(identity.roles),
        "kind": identity.kind,
        "aud": _AUDIENCE,
        "iat": now,
        "exp": now + int(ttl),
    }
    return jwt.encode(claims, key, algorithm=_ALGORITHM)


# Tokens verified lately, so a caller's repeated token (signers reuse one for half its
# lifetime) costs a dictionary lookup instead of a signature check. Bounded: the oldest
# entry goes when it is full.
VERIFIED_CACHE_SIZE = 4096
_verified: collections.OrderedDict[tuple[bytes, str], tuple[Identity, float]] = (
    collections.OrderedDict()
)


def verify(token: str, key: bytes) -> Identity:
    """The identity a token carries, if the mesh key signed it and it has not expired."""
    cached = _verified.get((key, token))
    if cached is not None and cached[1] > time.time():
        _verified.move_to_end((key, token))
        return cached[0]
    who, expires = _verify_signature(token, key)
    _verified[(key, token)] = (who, expires)
    while len(_verified) > VERIFIED_CACHE_SIZE:
        _verified.popitem(last=False)
    return who


def _verify_signature(token: str, key: bytes) -> tuple[Identity, float]:
    _check_key(key)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[_ALGORITHM],
            audience=_AUDIENCE,
            options={"require": ["sub", "tenant", "kind", "exp"]},
        )
    except jwt.PyJWTError as exc:
        raise errors.Unauthenticated(
            f"invalid mesh identity: {exc}", reason="INVALID_IDENTITY"
        ) from exc
    if claims["kind"] not in KINDS:
        raise errors.Unauthenticated("invalid mesh identity kind", reason="INVALID_IDENTITY")
    who = Identity(
        principal=claims["sub"],
        tenant=claims["tenant"],
        roles=tuple(claims.get("roles", ())),
        kind=claims["kind"],
    )
    return who, float(claims["exp"])


_current: contextvars.ContextVar[Identity | None] = contextvars.ContextVar(
    "airspace_identity", default=None
)


def current() -> Identity | None:
    """The verified caller of the RPC being served, if any."""
    return _current.get()


def require() -> Identity:
    caller = _current.get()
    if caller is None:
        raise errors.Unauthenticated("this call needs an authenticated identity")
    return caller


def require_mesh() -> Identity:
    """For internal services: only other mesh services may call."""
    caller = require()
    if caller.kind != "mesh":
        raise errors.PermissionDenied(
            "only mesh services may call this service", reason="MESH_ONLY"
        )
    return caller


def bind(identity: Identity | None) -> contextvars.Token:
    return _current.set(identity)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)
