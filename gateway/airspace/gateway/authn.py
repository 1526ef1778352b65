"""Who is calling the gateway: an API key or a JWT from an identity provider.

Clients send `authorization: Bearer <API key or JWT>`. Nothing else a client sends
is trusted: identity headers are dropped before forwarding (see forwarder.py).
"""

from __future__ import annotations

import pathlib

import jwt

from airspace.gateway.api_keys import PREFIX, ApiKeyStore
from airspace.gateway.settings import GatewaySettings
from airspace.mesh import errors, identity

_CLIENT_KINDS = ("user", "service_account")


class Authenticator:
    def __init__(self, settings: GatewaySettings):
        self.keys = ApiKeyStore(settings.api_keys_file)
        self._settings = settings
        self._jwt_key, self._jwt_algorithms = None, []
        if settings.jwt_secret_file:
            self._jwt_key = pathlib.Path(settings.jwt_secret_file).read_bytes().strip()
            self._jwt_algorithms = ["HS256"]
        elif settings.jwt_public_key_file:
            self._jwt_key = pathlib.Path(settings.jwt_public_key_file).read_bytes()
            self._jwt_algorithms = ["RS256", "ES256"]

    def authenticate(self, metadata) -> identity.Identity:
        values = [value for key, value in metadata or () if key == "authorization"]
        if len(values) != 1 or not values[0].startswith("Bearer "):
            raise errors.Unauthenticated(
                "send one 'authorization: Bearer <API key or token>' header",
                reason="MISSING_CREDENTIALS",
            )
        credential = values[0].removeprefix("Bearer ").strip()
        if credential.startswith(PREFIX):
            return self.keys.authenticate(credential)
        return self._from_jwt(credential)

    def _from_jwt(self, token: str) -> identity.Identity:
        if self._jwt_key is None:
            raise errors.Unauthenticated("unknown API key", reason="INVALID_API_KEY")
        try:
            claims = jwt.decode(
                token,
                self._jwt_key,
                algorithms=self._jwt_algorithms,
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer or None,
                options={"require": ["sub", "exp", "tenant"]},
            )
        except jwt.PyJWTError as exc:
            raise errors.Unauthenticated(f"invalid token: {exc}", reason="INVALID_TOKEN") from exc
        kind = claims.get("kind", "user")
        if kind not in _CLIENT_KINDS:
            raise errors.Unauthenticated(
                f"token kind {kind!r} is not a client kind", reason="INVALID_TOKEN"
            )
        roles = claims.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise errors.Unauthenticated(
                "token roles must be a list of strings", reason="INVALID_TOKEN"
            )
        return identity.Identity(f"user:{claims['sub']}", str(claims["tenant"]), tuple(roles), kind)
