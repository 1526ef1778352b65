"""API keys: only a SHA-256 of each key is stored, with the principal it authenticates.

A key reads "ask_<key id>_<secret>"; the id finds the record, the hash of the whole
key must match it (compared in constant time).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import pathlib
import secrets

from airspace.mesh import errors, identity

PREFIX = "ask_"


@dataclasses.dataclass(frozen=True)
class ApiKeyRecord:
    key_id: str
    sha256: str
    principal: str
    tenant: str
    roles: tuple[str, ...]
    kind: str = "user"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyStore:
    def __init__(self, path: str | pathlib.Path):
        self._path = pathlib.Path(path)
        self._records: dict[str, ApiKeyRecord] = {}
        self._mtime: int | None = None

    def _reload_if_changed(self) -> None:
        """Keys added by `airspace up` or an operator take effect without a restart."""
        try:
            mtime = self._path.stat().st_mtime_ns
        except FileNotFoundError:
            self._records, self._mtime = {}, None
            return
        if mtime == self._mtime:
            return
        document = json.loads(self._path.read_text())
        self._records = {
            item["key_id"]: ApiKeyRecord(
                key_id=item["key_id"],
                sha256=item["sha256"],
                principal=item["principal"],
                tenant=item["tenant"],
                roles=tuple(item.get("roles", ())),
                kind=item.get("kind", "user"),
            )
            for item in document.get("keys", [])
        }
        self._mtime = mtime

    def authenticate(self, key: str) -> identity.Identity:
        self._reload_if_changed()
        parts = key.split("_")
        record = self._records.get(parts[1]) if key.startswith(PREFIX) and len(parts) == 3 else None
        if record is None or not hmac.compare_digest(record.sha256, _digest(key)):
            raise errors.Unauthenticated("unknown or revoked API key", reason="INVALID_API_KEY")
        if record.kind == "mesh":
            raise errors.Unauthenticated(
                "API keys cannot carry a mesh identity", reason="INVALID_API_KEY"
            )
        return identity.Identity(record.principal, record.tenant, record.roles, record.kind)

    def create(
        self, principal: str, tenant: str, roles: tuple[str, ...], kind: str = "user"
    ) -> str:
        """Adds a key and returns it; the key itself is never stored."""
        key_id = secrets.token_hex(6)
        key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32).replace('_', '-')}"
        document = json.loads(self._path.read_text()) if self._path.exists() else {"keys": []}
        document["keys"].append(
            {
                "key_id": key_id,
                "sha256": _digest(key),
                "principal": principal,
                "tenant": tenant,
                "roles": list(roles),
                "kind": kind,
            }
        )
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_suffix(".tmp")
        temporary.write_text(json.dumps(document, indent=2))
        os.chmod(temporary, 0o600)
        temporary.replace(self._path)
        return key
