"""Files only the service's own user may read: databases, keys, the audit witness.

Modes are set when the file is created (os.open's mode), never after, so there is no
moment when another user could open it. Files made before this existed are tightened.
"""

from __future__ import annotations

import os
import pathlib

PRIVATE = 0o600
# SQLite keeps a database's recent writes beside it; they hold the same data.
_SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def create_private(path: str | pathlib.Path) -> pathlib.Path:
    """`path`, created empty if missing, readable and writable by its owner only."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE))
    _tighten(path)
    return path


def private_database(path: str | pathlib.Path) -> pathlib.Path:
    """A SQLite file (and the files SQLite keeps beside it) private to its owner; SQLite
    gives the companions it creates later the mode of the database file."""
    path = create_private(path)
    for suffix in _SQLITE_COMPANIONS:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            _tighten(companion)
    return path


def write_new_private(path: str | pathlib.Path, text: str) -> None:
    """Writes a new file private to its owner; an existing file is never overwritten."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE)
    with os.fdopen(fd, "w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())


def open_to_others(path: str | pathlib.Path) -> bool:
    return bool(os.stat(path).st_mode & 0o077)


def _tighten(path: pathlib.Path) -> None:
    if open_to_others(path):
        path.chmod(PRIVATE)
