"""API keys: only a SHA-256 of each key is stored, with the principal it authenticates.

A key reads "ask_<key id>_<secret>"; the id finds the record, the hash of the whole
key must match it (compared in constant time). A key may expire, and may be revoked:
its record stays, so listings say when, and the key is refused from then on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import pathlib
import secrets
import time

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
    created_by: str = ""
    # Seconds since the epoch; None when unknown (create), never (expire) or not yet (revoke).
    create_time: float | None = None
    expire_time: float | None = None
    revoke_time: float | None = None


def _record(item: dict) -> ApiKeyRecord:
    known = {field.name for field in dataclasses.fields(ApiKeyRecord)}
    values = {name: value for name, value in item.items() if name in known}
    return ApiKeyRecord(**{**values, "roles": tuple(item.get("roles", ()))})


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
        self._records = {item["key_id"]: _record(item) for item in document.get("keys", [])}
        self._mtime = mtime

    def authenticate(self, key: str) -> identity.Identity:
        self._reload_if_changed()
        parts = key.split("_")
        record = self._records.get(parts[1]) if key.startswith(PREFIX) and len(parts) == 3 else None
        if record is None or not hmac.compare_digest(record.sha256, _digest(key)):
            raise errors.Unauthenticated("unknown or revoked API key", reason="INVALID_API_KEY")
        if record.revoke_time is not None:
            raise errors.Unauthenticated("the API key was revoked", reason="INVALID_API_KEY")
        if record.expire_time is not None and record.expire_time <= time.time():
            raise errors.Unauthenticated("the API key has expired", reason="INVALID_API_KEY")
        if record.kind == "mesh":
            raise errors.Unauthenticated(
                "API keys cannot carry a mesh identity", reason="INVALID_API_KEY"
            )
        return identity.Identity(record.principal, record.tenant, record.roles, record.kind)

    def create(
        self, principal: str, tenant: str, roles: tuple[str, ...], kind: str = "user"
    ) -> str:
        """Adds a key that never expires and returns it; the key itself is never stored."""
        return self.issue(principal, tenant, roles, kind)[0]

    def issue(
        self,
        principal: str,
        tenant: str,
        roles: tuple[str, ...],
        kind: str = "user",
        *,
        ttl_seconds: float | None = None,
        created_by: str = "",
    ) -> tuple[str, ApiKeyRecord]:
        """Adds a key; returns it and its record. The key itself is never stored."""
        key_id = secrets.token_hex(6)
        key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32).replace('_', '-')}"
        now = time.time()
        record = ApiKeyRecord(
            key_id=key_id,
            sha256=_digest(key),
            principal=principal,
            tenant=tenant,
            roles=roles,
            kind=kind,
            created_by=created_by,
            create_time=now,
            expire_time=None if ttl_seconds is None else now + ttl_seconds,
        )
        self._reload_if_changed()
        self._write([*self._records.values(), record])
        return key, record

    def get(self, key_id: str) -> ApiKeyRecord | None:
        self._reload_if_changed()
        return self._records.get(key_id)

    def of_tenant(self, tenant: str) -> list[ApiKeyRecord]:
        """The tenant's keys, oldest first (keys without a creation time first)."""
        self._reload_if_changed()
        found = [record for record in self._records.values() if record.tenant == tenant]
        return sorted(found, key=lambda record: (record.create_time or 0.0, record.key_id))

    def revoke(self, key_id: str) -> ApiKeyRecord:
        """The key, revoked (a key revoked before keeps its first revocation time)."""
        self._reload_if_changed()
        record = self._records[key_id]
        if record.revoke_time is None:
            record = dataclasses.replace(record, revoke_time=time.time())
            self._write([*(r for r in self._records.values() if r.key_id != key_id), record])
        return record

    def _write(self, records: list[ApiKeyRecord]) -> None:
        """Replaces the file at once (readers see the old or the new one) and keeps what
        was written: a reload could miss a write within the file system's clock tick."""
        document = {
            "keys": [
                {
                    name: value
                    for name, value in dataclasses.asdict(record).items()
                    if value is not None
                }
                for record in records
            ]
        }
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_suffix(".tmp")
        temporary.write_text(json.dumps(document, indent=2))
        os.chmod(temporary, 0o600)
        temporary.replace(self._path)
        self._records = {record.key_id: record for record in records}
        self._mtime = self._path.stat().st_mtime_ns
