"""Runs the trace collector: `python -m airspace.tracing.main`.

The collector does not trace itself: its spans would be exported to itself, creating
spans about exports, without end.
"""

from __future__ import annotations

from airspace.mesh import server, settings
from airspace.policy.engine.pii.log_masking import mask_log_text
from airspace.tracing import collector
from airspace.tracing.settings import ENV_PREFIX, TraceSettings


async def _build(trace_settings: TraceSettings) -> server.MeshServer:
    return (await collector.build(trace_settings)).server


def main() -> None:
    trace_settings = settings.from_command_line(TraceSettings, ENV_PREFIX, __doc__)
    server.run(lambda: _build(trace_settings), mask_logs=mask_log_text)


if __name__ == "__main__":
    main()
