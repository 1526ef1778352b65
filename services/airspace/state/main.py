"""Runs the state service: `python -m airspace.state.main`."""

from __future__ import annotations

import logging

from airspace.mesh import server, settings, telemetry
from airspace.mesh.server import MeshServer
from airspace.policy.engine.pii.log_masking import mask_log_text
from airspace.state.opening import open_store
from airspace.state.servicer import StateServicer
from airspace.state.settings import ENV_PREFIX, StateSettings
from airspace.state.store.state import StateStore
from airspace.state.v1 import state_pb2_grpc

log = logging.getLogger(__name__)


def build_server(config: StateSettings, store: StateStore | None = None) -> MeshServer:
    """The state server over `store` (by default the one config names: PostgreSQL at
    config.url, else the SQLite file config.database); the server closes the store
    when it stops."""
    srv = MeshServer("state", config)
    if store is None:
        store = open_store(config)
        # Names the database without its password.
        srv.on_start(lambda: log.info("state store: %s", config.store_name))
    srv.add_service(
        state_pb2_grpc.add_StateServiceServicer_to_server,
        StateServicer(store, watch_recheck_seconds=config.watch_recheck_seconds),
    )
    srv.on_stop(store.close)
    return srv


def main() -> None:
    config = settings.from_command_line(StateSettings, ENV_PREFIX, __doc__)
    telemetry.setup_for("state", config)
    # Built inside the event loop, which the store's connections belong to.
    server.run(lambda: build_server(config), mask_logs=mask_log_text)


if __name__ == "__main__":
    main()
