"""Where signed heads are published outside the audit database.

A witness only ever gains heads. Whoever deletes or cuts the database must then also
rewrite the witness, or verification finds heads the database no longer holds. The
file witness keeps them in an append-only file away from the database; any store that
another principal controls (another host, an object store with retention, a
transparency log) can stand in by implementing `Witness`.
"""

from __future__ import annotations

import json
import os
import pathlib
from typing import Protocol

from airspace.mesh.private_files import PRIVATE
from airspace.policy.audit.signing import SignedHead


class WitnessError(Exception):
    """The witness cannot be read as a list of signed heads."""


class Witness(Protocol):
    name: str  # what verification reports name it by

    def publish(self, head: SignedHead) -> None:
        """Durably records `head` after every head published before."""
        ...

    def heads(self) -> list[SignedHead]:
        """Every head published, oldest first; WitnessError when that cannot be told."""
        ...


class FileWitness:
    """One JSON signed head per line, appended and fsynced."""

    def __init__(self, path: str | pathlib.Path):
        self._path = pathlib.Path(path)
        self.name = f"witness file {self._path}"

    def publish(self, head: SignedHead) -> None:
        self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        line = json.dumps(head.as_json(), sort_keys=True, separators=(",", ":")) + "\n"
        fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def heads(self) -> list[SignedHead]:
        try:
            text = self._path.read_text()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise WitnessError(f"{self.name} cannot be read: {exc.strerror}") from exc
        heads = []
        for number, line in enumerate(text.splitlines(), start=1):
            try:
                heads.append(SignedHead.from_json(json.loads(line)))
            except (ValueError, KeyError, TypeError):
                raise WitnessError(
                    f"{self.name}: line {number} is not a signed head; repair the file or "
                    "restore it from a copy (this cannot be acknowledged)"
                ) from None
        return heads
