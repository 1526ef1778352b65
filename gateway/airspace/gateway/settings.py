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
    # Optional JWT bearer tokens from an identity provider: HS256 secret or RS256/ES256 public key.
    jwt_secret_file: str = ""
    jwt_public_key_file: str = ""
    jwt_issuer: str = ""
    jwt_audience: str = "airspace"
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
