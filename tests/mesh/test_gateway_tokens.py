"""JWTs at the gateway against a real HTTP identity provider (JWKS and OpenID Connect
discovery on 127.0.0.1): keys chosen by kid and rotated, claims mapped, and every forgery
refused — wrong audience or issuer, expired or not yet valid, `alg: none`, HS256 signed
with the public key, made-up kids that would make the gateway hammer the issuer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from airspace.gateway import tokens
from airspace.gateway.authn import Authenticator
from airspace.gateway.settings import GatewaySettings
from airspace.mesh import errors

pytestmark = pytest.mark.mesh
AUDIENCE = "airspace"


class Provider:
    """An identity provider's HTTP endpoints: discovery and its key set, changeable."""

    def __init__(self):
        self.keys: dict[str, object] = {}
        self.hits: list[str] = []
        self.discovered_issuer = ""
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                provider.hits.append(self.path)
                if self.path == "/.well-known/openid-configuration":
                    body = {
                        "issuer": provider.discovered_issuer or provider.issuer,
                        "jwks_uri": provider.issuer + "/jwks",
                    }
                else:
                    body = {"keys": [provider.jwk(kid, key) for kid, key in provider.keys.items()]}
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def jwk(kid: str, key) -> dict:
        algorithm = (
            jwt.algorithms.RSAAlgorithm
            if isinstance(key, rsa.RSAPrivateKey)
            else (jwt.algorithms.ECAlgorithm)
        )
        found = json.loads(algorithm.to_jwk(key.public_key()))
        found.update(kid=kid, use="sig")
        return found

    def close(self):
        self.server.shutdown()


@pytest.fixture
def provider():
    started = Provider()
    started.keys = {"k1": rsa.generate_private_key(public_exponent=65537, key_size=2048)}
    yield started
    started.close()


def token(key, kid: str | None = "k1", algorithm: str = "RS256", **claims) -> str:
    now = int(time.time())
    body = {"sub": "ana", "tenant": "acme", "aud": AUDIENCE, "iat": now, "exp": now + 300}
    body.update(claims)
    headers = {"kid": kid} if kid else {}
    return jwt.encode(body, key, algorithm=algorithm, headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_forgery(claims: dict, secret: bytes, kid: str) -> str:
    """A token "signed" HS256 with `secret`, built by hand (PyJWT refuses to sign with a
    public key as an HMAC secret, which is exactly what an attacker does)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def verifier(provider: Provider, clock: Clock, **options) -> tokens.TokenVerifier:
    keys = tokens.JwksKeys(lambda: tokens.fetch_json(provider.issuer + "/jwks"), clock=clock)
    return tokens.TokenVerifier(keys, audience=AUDIENCE, **options)


async def refused(check, token_text: str) -> str:
    with pytest.raises(errors.Unauthenticated) as failure:
        await check.verify(token_text)
    assert failure.value.reason == "INVALID_TOKEN"
    return failure.value.message


async def test_a_token_of_the_key_set_maps_its_claims_to_the_caller(provider):
    check = verifier(
        provider, Clock(), claims=tokens.Claims(tenant="org.id", roles="realm_access.roles")
    )
    who = await check.verify(
        token(
            provider.keys["k1"],
            org={"id": "globex"},
            realm_access={"roles": ["operator", "approver"]},
        )
    )
    assert (who.principal, who.tenant, who.roles) == (
        "user:ana",
        "globex",
        ("operator", "approver"),
    )


async def test_keys_rotate_by_kid_without_letting_made_up_kids_hammer_the_issuer(provider):
    clock = Clock()
    check = verifier(provider, clock)
    old = provider.keys["k1"]
    await check.verify(token(old))
    provider.keys = {"k2": ec.generate_private_key(ec.SECP256R1())}
    fetched = len(provider.hits)
    for made_up in range(20):
        await refused(check, token(old, kid=f"nope-{made_up}"))
    assert len(provider.hits) == fetched  # a key set loaded a moment ago is not loaded again
    clock.now += tokens.JWKS_MIN_REFRESH_SECONDS + 1
    who = await check.verify(token(provider.keys["k2"], kid="k2", algorithm="ES256"))
    assert who.principal == "user:ana"
    assert len(provider.hits) == fetched + 1
    assert "no key 'k1'" in await refused(check, token(old))  # rotated out


async def test_forged_expired_and_misaddressed_tokens_are_refused(provider):
    check = verifier(provider, Clock(), issuer=provider.issuer)
    key, now = provider.keys["k1"], int(time.time())
    assert "Audience" in await refused(check, token(key, iss=provider.issuer, aud="someone-else"))
    assert "issuer" in await refused(check, token(key, iss="https://evil.example"))
    assert "expired" in await refused(check, token(key, iss=provider.issuer, exp=now - 120))
    assert "not yet valid" in await refused(check, token(key, iss=provider.issuer, nbf=now + 600))
    unsigned = jwt.encode(
        {"sub": "ana", "tenant": "acme", "aud": AUDIENCE, "iss": provider.issuer, "exp": now + 60},
        None,
        algorithm="none",
        headers={"kid": "k1"},
    )
    await refused(check, unsigned)
    # HS256 "signed" with the public key as the secret: the key only verifies RS256.
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = {"sub": "ana", "tenant": "acme", "aud": AUDIENCE, "iss": provider.issuer}
    forged_token = hs256_forgery({**claims, "exp": now + 60}, public_pem, "k1")
    assert "alg" in (await refused(check, forged_token)).lower()


async def test_openid_connect_discovery_finds_the_keys_and_checks_the_issuer(provider):
    settings = GatewaySettings(mesh_key=b"m" * 32, data_dir="/tmp", jwt_oidc_issuer=provider.issuer)
    authenticator = Authenticator(settings)
    signed = token(provider.keys["k1"], iss=provider.issuer)
    who = await authenticator.authenticate([("authorization", f"Bearer {signed}")])
    assert who.tenant == "acme"
    assert provider.hits[:2] == ["/.well-known/openid-configuration", "/jwks"]

    provider.discovered_issuer = "https://someone-else.example"
    impostor = Authenticator(settings)
    with pytest.raises(errors.Unavailable) as failure:
        await impostor.authenticate([("authorization", f"Bearer {signed}")])
    assert "someone-else" in failure.value.message


def test_one_source_of_token_keys_at_a_time(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s" * 32)
    with pytest.raises(errors.InvalidArgument) as failure:
        tokens.key_source(secret_file=str(secret), jwks_url="http://127.0.0.1:1/jwks")
    assert failure.value.violations[0][0] == "jwt_jwks_url"
