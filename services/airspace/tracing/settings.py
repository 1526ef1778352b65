"""Settings of the trace collector (AIRSPACE_TRACE_<FIELD>, falling back to AIRSPACE_<FIELD>)."""

from __future__ import annotations

import dataclasses
import pathlib

from airspace.mesh import errors
from airspace.mesh.settings import ServerSettings

ENV_PREFIX = "TRACE"


@dataclasses.dataclass
class TraceSettings(ServerSettings):
    # SQLite database file; <data_dir>/traces.db when empty.
    database: str = ""
    # External OTLP/gRPC endpoint (host:port, or https://host:port for TLS) that receives
    # a copy of every accepted export; empty turns forwarding off.
    forward_endpoint: str = ""
    # Retention: beyond this many stored spans the oldest (by start time) are pruned.
    max_spans: int = 1_000_000
    # Export batches waiting for the forward endpoint; beyond it the oldest are dropped.
    forward_queue_max: int = 1000
    # Longest pause between retries while the forward endpoint is down.
    forward_retry_max_seconds: float = 10.0

    def __post_init__(self):
        super().__post_init__()
        if not self.database:
            self.database = str(pathlib.Path(self.data_dir) / "traces.db")
        for name in ("max_spans", "forward_queue_max", "forward_retry_max_seconds"):
            if getattr(self, name) <= 0:
                raise errors.InvalidArgument(f"{name} must be positive", field=name)
