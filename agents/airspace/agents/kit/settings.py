"""Settings of a Python agent server, from AIRSPACE_AGENT_* (falling back to AIRSPACE_*)."""

from __future__ import annotations

import dataclasses

from airspace.mesh.settings import ServerSettings

ENV_PREFIX = "AGENT"


@dataclasses.dataclass
class AgentSettings(ServerSettings):
    # Completed results kept for idempotent retries (AIRSPACE_AGENT_RESULT_CACHE_SIZE).
    result_cache_size: int = 1024
    # The collector's credential for this agent's spans, issued when it was registered
    # (AIRSPACE_AGENT_TELEMETRY_CREDENTIAL; see airspace.mesh.telemetry_credentials).
    telemetry_credential: str = ""
