"""Runs the state service: `python -m airspace.state.main`."""

from __future__ import annotations

from airspace.mesh import server, settings, telemetry
from airspace.mesh.server import MeshServer
from airspace.policy.engine.pii.log_masking import mask_log_text
from airspace.state.servicer import StateServicer
from airspace.state.settings import ENV_PREFIX, StateSettings
from airspace.state.sqlite.store import SqliteStateStore
from airspace.state.store.state import StateStore
from airspace.state.v1 import state_pb2_grpc


def build_server(config: StateSettings, store: StateStore | None = None) -> MeshServer:
    """The state server over `store` (by default the SQLite file config.database);
    the server closes the store when it stops."""
    if store is None:
        store = SqliteStateStore(config.database, read_connections=config.read_connections)
    srv = MeshServer("state", config)
    srv.add_service(
        state_pb2_grpc.add_StateServiceServicer_to_server,
        StateServicer(store, watch_recheck_seconds=config.watch_recheck_seconds),
    )
    srv.on_stop(store.close)
    return srv


def main() -> None:
    config = settings.load(StateSettings, ENV_PREFIX)
    telemetry.setup("state", config.otlp_endpoint)
    server.run(build_server(config), mask_logs=mask_log_text)


if __name__ == "__main__":
    main()
