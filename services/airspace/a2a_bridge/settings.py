"""Settings of the A2A bridge (environment prefix AIRSPACE_A2A_)."""

from __future__ import annotations

import dataclasses

from airspace.mesh.settings import ServerSettings

ENV_PREFIX = "A2A"


@dataclasses.dataclass
class BridgeSettings(ServerSettings):
    # Where runs are started: the gateway, with each A2A caller's own credentials.
    gateway_endpoint: str = "127.0.0.1:50051"
    # The workflow served as an A2A agent (required).
    workflow: str = ""
    # The address A2A clients use to reach the bridge, as written in its card
    # (default: host:port it listens on).
    public_address: str = ""
    # The longest a run is followed when the A2A caller sets no deadline.
    run_timeout_seconds: float = 3600.0
