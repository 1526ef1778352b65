"""Settings of a Python agent server, from AIRSPACE_AGENT_* (falling back to AIRSPACE_*)."""

from __future__ import annotations

import dataclasses

from airspace.mesh.settings import ServerSettings

ENV_PREFIX = "AGENT"


@dataclasses.dataclass
class AgentSettings(ServerSettings):
    # The SQLite file of completed results by idempotency key (AIRSPACE_AGENT_RESULT_STORE_PATH);
    # empty: <data_dir>/<agent name>.results.db.
    result_store_path: str = ""
    # Results kept, the oldest forgotten first (AIRSPACE_AGENT_RESULT_STORE_SIZE) ...
    result_store_size: int = 10_000
    # ... and for how long (AIRSPACE_AGENT_RESULT_STORE_RETENTION_SECONDS): a week.
    result_store_retention_seconds: float = 7 * 24 * 3600.0
    # Worker processes of a run_in="process" handler (worker threads of a plain one: 4 more);
    # 0: one per CPU (AIRSPACE_AGENT_HANDLER_WORKERS).
    handler_workers: int = 0
    # The collector's credential for this agent's spans, issued when it was registered
    # (AIRSPACE_AGENT_TELEMETRY_CREDENTIAL; see airspace.mesh.telemetry_credentials).
    telemetry_credential: str = ""
