"""Gateway settings (environment prefix AIRSPACE_GATEWAY_)."""

import dataclasses

from airspace.mesh.settings import ServerSettings


@dataclasses.dataclass
class GatewaySettings(ServerSettings):
    port: int = 50051
    # One router (host:port), or several that share the calls round-robin: dns:///NAME:PORT
    # (every address NAME resolves to) or router IP addresses, comma-separated
    # (airspace.mesh.balancing).
    router_endpoint: str = "127.0.0.1:50060"
    policy_endpoint: str = "127.0.0.1:50062"
    # API keys (hashed) and who they belong to; see gateway/airspace/gateway/api_keys.py.
    api_keys_file: str = ""
    # Optional JWT bearer tokens from an identity provider (gateway/airspace/gateway/tokens.py):
    # keys from one of an HS256 secret, an RS256/ES256 public key, a JWKS file or URL, or
    # OpenID Connect discovery from the issuer.
    jwt_secret_file: str = ""
    jwt_public_key_file: str = ""
    jwt_jwks_file: str = ""
    jwt_jwks_url: str = ""
    jwt_oidc_issuer: str = ""
    jwt_issuer: str = ""
    jwt_audience: str = "airspace"
    # Which claims name the caller, its tenant and its roles (dotted paths reach nested claims).
    jwt_principal_claim: str = "sub"
    jwt_tenant_claim: str = "tenant"
    jwt_roles_claim: str = "roles"
    jwt_leeway_seconds: float = 30.0
    # Per-tenant rates (airspace.mesh.quotas); empty: no limits.
    quotas_file: str = ""
    # Calls forwarded at once; past these the gateway sheds calls with RetryInfo. The
    # server's hard cap (max_concurrent_rpcs) sits above their sum, so it never answers first.
    max_unary_in_flight: int = 1000
    max_streams_in_flight: int = 5000
    max_concurrent_rpcs: int = 8000
    # The largest run input (the `input` field of a request, serialized) let through to a
    # router, whatever the workflow; each workflow's own limit (limits.max_input_bytes,
    # 256 KiB unless it sets one) is the router's to enforce, below this one.
    max_input_bytes: int = 1024 * 1024
    # Calls without a client deadline get this one; streams may follow a run this long.
    unary_timeout_seconds: float = 30.0
    stream_timeout_seconds: float = 24 * 3600.0

    def __post_init__(self):
        super().__post_init__()
        if not self.api_keys_file:
            self.api_keys_file = str(self.data_path("api_keys.json"))
