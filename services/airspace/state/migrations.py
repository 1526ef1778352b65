"""The schema migration runner every store implementation shares.

A store keeps the versions it applied in a schema_migrations table and hands the
runner the version found there; the runner refuses a database newer than the code
(this code could misread it, or write what the newer code would misread) and applies
the pending migrations in order through the store's own callback, inside the
transaction the store opened, so a failure leaves the database as it was.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Db = TypeVar("Db")


@dataclasses.dataclass(frozen=True)
class Migration(Generic[Db]):
    version: int
    description: str
    apply: Callable[[Db], None]


@dataclasses.dataclass(frozen=True)
class MigrationResult:
    # The database's schema version after the call.
    version: int
    # In the order applied; empty when the database was current.
    applied: list[Migration]


class SchemaTooNewError(RuntimeError):
    """The database was migrated by a newer release than this one."""


def apply_pending(
    current: int,
    migrations: Sequence[Migration[Db]],
    *,
    database: str,
    apply: Callable[[Migration[Db]], None],
) -> MigrationResult:
    """Applies, through `apply` (which also records the version), every migration newer
    than `current`; `database` names the database in the refusal of a newer one."""
    latest = migrations[-1].version if migrations else 0
    if current > latest:
        raise SchemaTooNewError(
            f"the state database {database} is at schema version {current}, but this release"
            f" of airspace knows versions up to {latest}; run a release that knows"
            f" version {current}, or restore a backup made by this one"
        )
    pending = [migration for migration in migrations if migration.version > current]
    for migration in pending:
        apply(migration)
    return MigrationResult(version=max(current, latest), applied=pending)
