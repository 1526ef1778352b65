"""Who is calling the gateway: an API key or a JWT from an identity provider.

Clients send `authorization: Bearer <API key or JWT>`. Nothing else a client sends
is trusted: identity headers are dropped before forwarding (see forwarder.py).
Tokens are verified as tokens.py says.
"""

from __future__ import annotations

from airspace.gateway import tokens
from airspace.gateway.api_keys import PREFIX, ApiKeyStore
from airspace.gateway.settings import GatewaySettings
from airspace.mesh import errors, identity
from airspace.mesh.reasons import Reason


class Authenticator:
    def __init__(self, settings: GatewaySettings):
        self.keys = ApiKeyStore(settings.api_keys_file)
        source = tokens.key_source(
            secret_file=settings.jwt_secret_file,
            public_key_file=settings.jwt_public_key_file,
            jwks_file=settings.jwt_jwks_file,
            jwks_url=settings.jwt_jwks_url,
            oidc_issuer=settings.jwt_oidc_issuer,
        )
        self._tokens = (
            None
            if source is None
            else tokens.TokenVerifier(
                source,
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer or settings.jwt_oidc_issuer,
                claims=tokens.Claims(
                    settings.jwt_principal_claim,
                    settings.jwt_tenant_claim,
                    settings.jwt_roles_claim,
                ),
                leeway=settings.jwt_leeway_seconds,
            )
        )

    async def authenticate(self, metadata) -> identity.Identity:
        values = [value for key, value in metadata or () if key == "authorization"]
        if len(values) != 1 or not values[0].startswith("Bearer "):
            raise errors.Unauthenticated(
                "send one 'authorization: Bearer <API key or token>' header",
                reason=Reason.MISSING_CREDENTIALS,
            )
        credential = values[0].removeprefix("Bearer ").strip()
        if credential.startswith(PREFIX):
            return self.keys.authenticate(credential)
        if self._tokens is None:
            raise errors.Unauthenticated("unknown API key", reason=Reason.INVALID_API_KEY)
        return await self._tokens.verify(credential)
