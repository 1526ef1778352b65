"""Opening the state store the settings name: PostgreSQL when a URL is set, else SQLite."""

from __future__ import annotations

from airspace.state.migrations import MigrationResult
from airspace.state.settings import StateSettings
from airspace.state.store.state import StateStore


def open_store(config: StateSettings) -> StateStore:
    """Applies the store's pending migrations and returns it, ready to serve."""
    # Imported on demand: each command and process loads only the driver it uses.
    if config.url:
        from airspace.state.postgres.store import PostgresStateStore

        return PostgresStateStore(
            config.url,
            pool_size=config.pool_size,
            payload_inline_bytes=config.payload_inline_bytes,
        )
    from airspace.state.sqlite.store import SqliteStateStore

    return SqliteStateStore(
        config.database,
        read_connections=config.read_connections,
        payload_inline_bytes=config.payload_inline_bytes,
    )


def migrate(config: StateSettings) -> MigrationResult:
    """Applies the pending migrations of the store the settings name."""
    if config.url:
        from airspace.state.postgres import migrations as postgres_migrations

        return postgres_migrations.apply_migrations(config.url)
    from airspace.state.sqlite import migrations as sqlite_migrations

    return sqlite_migrations.apply_migrations(config.database)
