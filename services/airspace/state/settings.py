"""Settings of the state service (AIRSPACE_STATE_<FIELD>, falling back to AIRSPACE_<FIELD>)."""

from __future__ import annotations

import dataclasses
import pathlib

from airspace.mesh.settings import ServerSettings

ENV_PREFIX = "STATE"


@dataclasses.dataclass
class StateSettings(ServerSettings):
    # SQLite database file; <data_dir>/state.db when empty.
    database: str = ""
    # Connections (and threads) serving reads next to the single writer.
    read_connections: int = 4
    # Watchers re-check the database this often even without an in-process
    # notification, so writes from another process are seen too.
    watch_recheck_seconds: float = 2.0

    def __post_init__(self):
        super().__post_init__()
        if not self.database:
            self.database = str(pathlib.Path(self.data_dir) / "state.db")
