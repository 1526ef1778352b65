"""Bearer tokens (JWTs) of an identity provider, verified at the gateway.

Where the keys come from, one of (gateway settings):
- `jwt_secret_file`: an HS256 secret shared with the issuer;
- `jwt_public_key_file`: one RS256/ES256 public key (PEM);
- `jwt_jwks_file` or `jwt_jwks_url`: a JSON Web Key Set, keys chosen by the token's `kid`;
  a URL is cached and fetched again when a token names a `kid` it does not hold (the
  issuer rotated its keys), at most once per `JWKS_MIN_REFRESH_SECONDS`, so tokens with
  made-up `kid`s cannot make the gateway hammer the issuer;
- `jwt_oidc_issuer`: the JWKS URL found by OpenID Connect discovery
  (`<issuer>/.well-known/openid-configuration`), whose `issuer` must match.

A key fixes its own algorithm: an HS256 secret verifies only HS256 tokens, a JWKS or PEM
key only its RS/ES algorithm, so a token signed HS256 with a public key as the secret, or
one with `alg: none`, is refused. `exp` is required, `nbf` and `iat` are checked (with
`jwt_leeway_seconds` of clock skew), `aud` must be `jwt_audience`, and `iss` the issuer
when one is set. Principal, tenant and roles come from configurable claims (dotted paths
reach nested ones, e.g. `realm_access.roles`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import pathlib
import time
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol

import jwt

from airspace.mesh import errors, identity
from airspace.mesh.reasons import Reason

JWKS_CACHE_SECONDS = 300.0
JWKS_MIN_REFRESH_SECONDS = 30.0
FETCH_TIMEOUT_SECONDS = 5.0
MAX_DOCUMENT_BYTES = 1024 * 1024
_CLIENT_KINDS = ("user", "service_account")


def _refused(message: str) -> errors.Unauthenticated:
    return errors.Unauthenticated(message, reason=Reason.INVALID_TOKEN)


def fetch_json(url: str) -> Any:
    """A JSON document over HTTP(S), bounded in size and time."""
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as reply:  # noqa: S310
        return json.loads(reply.read(MAX_DOCUMENT_BYTES + 1)[:MAX_DOCUMENT_BYTES])


class KeySource(Protocol):
    async def key_for(self, header: dict[str, Any]) -> tuple[Any, list[str]]:
        """The key to verify a token with this header, and the algorithms it may use."""
        ...


@dataclasses.dataclass(frozen=True)
class StaticKey:
    key: Any
    algorithms: list[str]

    async def key_for(self, header: dict[str, Any]) -> tuple[Any, list[str]]:
        return self.key, self.algorithms


class JwksKeys:
    """The keys of a JWKS document, loaded by `load` and loaded again on an unknown kid."""

    def __init__(self, load: Callable[[], Any], clock: Callable[[], float] = time.monotonic):
        self._load = load
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._loaded_at = -float("inf")
        self._lock = asyncio.Lock()

    async def key_for(self, header: dict[str, Any]) -> tuple[Any, list[str]]:
        kid = header.get("kid")
        if not isinstance(kid, str | None):
            raise _refused("the token's kid is not a string")
        if self._clock() - self._loaded_at > JWKS_CACHE_SECONDS or self._lacks(kid):
            await self._refresh()
        if kid is None and len(self._keys) == 1:
            found = next(iter(self._keys.values()))
        elif kid is None:
            raise _refused("the token names no kid and the issuer has several keys")
        elif kid in self._keys:
            found = self._keys[kid]
        else:
            raise _refused(f"no key {kid[:64]!r} in the issuer's key set")
        return found.key, [found.algorithm_name]

    def _lacks(self, kid: str | None) -> bool:
        return kid is not None and kid not in self._keys

    async def _refresh(self) -> None:
        async with self._lock:
            if self._clock() - self._loaded_at < JWKS_MIN_REFRESH_SECONDS:
                return  # loaded a moment ago (maybe by the call we waited for)
            try:
                document = await asyncio.to_thread(self._load)
                keys = jwt.PyJWKSet.from_dict(document).keys
            except (OSError, ValueError, jwt.PyJWTError) as exc:
                if not self._keys:
                    raise errors.Unavailable(
                        f"the identity provider's keys cannot be read: {exc}", retry_after=5.0
                    ) from exc
                keys = list(self._keys.values())  # keep the keys we had
            self._keys = {key.key_id or "": key for key in keys}
            self._loaded_at = self._clock()


def discovered_jwks(issuer: str) -> Callable[[], Any]:
    """Loads the JWKS of an OpenID Connect issuer, found by discovery on first use."""
    jwks_uri: list[str] = []

    def load() -> Any:
        if not jwks_uri:
            config = fetch_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
            if config.get("issuer") != issuer:
                raise ValueError(f"discovery names issuer {str(config.get('issuer'))[:200]!r}")
            jwks_uri.append(str(config["jwks_uri"]))
        return fetch_json(jwks_uri[0])

    return load


@dataclasses.dataclass(frozen=True)
class Claims:
    """Which claims say who the caller is."""

    principal: str = "sub"
    tenant: str = "tenant"
    roles: str = "roles"


def _claim(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


class TokenVerifier:
    def __init__(
        self,
        keys: KeySource,
        *,
        audience: str,
        issuer: str = "",
        claims: Claims = Claims(),
        leeway: float = 30.0,
    ):
        self._keys = keys
        self._audience = audience
        self._issuer = issuer
        self._claims = claims
        self._leeway = leeway

    async def verify(self, token: str) -> identity.Identity:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _refused(f"invalid token: {exc}") from exc
        key, algorithms = await self._keys.key_for(header)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self._audience,
                issuer=self._issuer or None,
                leeway=self._leeway,
                options={"require": ["exp"]},
            )
        except jwt.PyJWTError as exc:
            raise _refused(f"invalid token: {exc}") from exc
        return self._identity(claims)

    def _identity(self, claims: dict[str, Any]) -> identity.Identity:
        principal = _claim(claims, self._claims.principal)
        tenant = _claim(claims, self._claims.tenant)
        for name, value in ((self._claims.principal, principal), (self._claims.tenant, tenant)):
            if not isinstance(value, str) or not value:
                raise _refused(f"the token's {name[:64]} claim must be a non-empty string")
        roles = _claim(claims, self._claims.roles) or []
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise _refused(f"the token's {self._claims.roles[:64]} claim must list strings")
        kind = claims.get("kind", "user")
        if kind not in _CLIENT_KINDS:
            raise _refused(f"token kind {str(kind)[:32]!r} is not a client kind")
        return identity.Identity(f"user:{principal}", tenant, tuple(roles), kind)


def key_source(
    *,
    secret_file: str = "",
    public_key_file: str = "",
    jwks_file: str = "",
    jwks_url: str = "",
    oidc_issuer: str = "",
) -> KeySource | None:
    """The one key source the settings name (None: tokens are not accepted)."""
    named = [
        name
        for name, value in (
            ("jwt_secret_file", secret_file),
            ("jwt_public_key_file", public_key_file),
            ("jwt_jwks_file", jwks_file),
            ("jwt_jwks_url", jwks_url),
            ("jwt_oidc_issuer", oidc_issuer),
        )
        if value
    ]
    if len(named) > 1:
        raise errors.InvalidArgument(
            f"choose one source of token keys, not {' and '.join(named)}", field=named[1]
        )
    if secret_file:
        return StaticKey(pathlib.Path(secret_file).read_bytes().strip(), ["HS256"])
    if public_key_file:
        return StaticKey(pathlib.Path(public_key_file).read_bytes(), ["RS256", "ES256"])
    if jwks_file:
        return JwksKeys(lambda: json.loads(pathlib.Path(jwks_file).read_text()))
    if jwks_url:
        return JwksKeys(lambda: fetch_json(jwks_url))
    if oidc_issuer:
        return JwksKeys(discovered_jwks(oidc_issuer))
    return None
