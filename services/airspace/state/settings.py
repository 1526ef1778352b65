"""Settings of the state service (AIRSPACE_STATE_<FIELD>, falling back to AIRSPACE_<FIELD>)."""

from __future__ import annotations

import dataclasses
import pathlib

from airspace.mesh import database_urls, errors
from airspace.mesh.settings import ServerSettings
from airspace.state.rules.payloads import DEFAULT_INLINE_BYTES

ENV_PREFIX = "STATE"


@dataclasses.dataclass
class StateSettings(ServerSettings):
    # The PostgreSQL database, as postgresql://user@host:5432/airspace; empty for the
    # embedded SQLite file `database`.
    url: str = ""
    # SQLite database file; <data_dir>/state.db when empty.
    database: str = ""
    # SQLite: connections (and threads) serving reads next to the single writer.
    read_connections: int = 4
    # PostgreSQL: connections the store keeps at most, besides its listening one.
    pool_size: int = 8
    # Watchers of a SQLite store re-check the database this often even without an
    # in-process notification, so writes from another process are seen too.
    watch_recheck_seconds: float = 2.0
    # Payloads (run input and output, step outputs) larger than this many bytes are
    # stored once by digest, apart from the rows that carry them (rules/payloads.py).
    payload_inline_bytes: int = DEFAULT_INLINE_BYTES

    def __post_init__(self):
        super().__post_init__()
        if self.url and not database_urls.is_postgres(self.url):
            raise errors.InvalidArgument(
                f"url must be a postgresql:// URL, not {database_urls.redacted(self.url)!r}",
                field="url",
            )
        if self.payload_inline_bytes < 0:
            raise errors.InvalidArgument(
                "payload_inline_bytes must not be negative", field="payload_inline_bytes"
            )
        if not self.database:
            self.database = str(pathlib.Path(self.data_dir) / "state.db")

    @property
    def store_name(self) -> str:
        """The store for messages and logs, without a password."""
        return database_urls.redacted(self.url) if self.url else self.database
