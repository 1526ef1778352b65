"""Settings of the trace collector (AIRSPACE_TRACE_<FIELD>, falling back to AIRSPACE_<FIELD>)."""

from __future__ import annotations

import dataclasses
import pathlib
import urllib.parse

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
    # Headers sent with every forwarded export, as OTEL_EXPORTER_OTLP_HEADERS writes them:
    # "key=value,key2=value2" (e.g. the backend's API key, or another Airspace collector's
    # telemetry credential).
    forward_headers: str = ""
    # Retention: beyond this many stored spans the oldest (by start time) are pruned.
    max_spans: int = 1_000_000
    # Export batches waiting for the forward endpoint; beyond it the oldest are dropped.
    forward_queue_max: int = 1000
    # Longest pause between retries while the forward endpoint is down.
    forward_retry_max_seconds: float = 10.0

    @property
    def forward_metadata(self) -> tuple[tuple[str, str], ...]:
        pairs = []
        for item in filter(None, (part.strip() for part in self.forward_headers.split(","))):
            key, equals, value = item.partition("=")
            if not equals or not key.strip():
                raise errors.InvalidArgument(
                    "forward_headers must read key=value[,key=value...]", field="forward_headers"
                )
            pairs.append((key.strip().lower(), urllib.parse.unquote(value.strip())))
        return tuple(pairs)

    def __post_init__(self):
        super().__post_init__()
        self.forward_metadata  # noqa: B018  (refuses malformed headers at start)
        if not self.database:
            self.database = str(pathlib.Path(self.data_dir) / "traces.db")
        for name in ("max_spans", "forward_queue_max", "forward_retry_max_seconds"):
            if getattr(self, name) <= 0:
                raise errors.InvalidArgument(f"{name} must be positive", field=name)
