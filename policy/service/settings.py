"""Settings of the policy service (AIRSPACE_POLICY_<FIELD>, falling back to AIRSPACE_<FIELD>)."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import pathlib

from services.mesh.settings import ServerSettings

ENV_PREFIX = "POLICY"
# policy/bundles next to this package, whatever the working directory.
_SHIPPED_BUNDLES = pathlib.Path(__file__).resolve().parents[1] / "bundles"


@dataclasses.dataclass
class PolicySettings(ServerSettings):
    # Folder of bundle files and the one that is active.
    bundle_dir: str = str(_SHIPPED_BUNDLES)
    bundle_file: str = "default.yaml"
    # SQLite audit log; <data_dir>/audit.db when empty.
    audit_database: str = ""
    # Key of the PII hash (HMAC-SHA-256) in masks and the audit log; derived from the
    # mesh key when empty. Changing it changes every hash from then on.
    hash_key: bytes = b""

    def __post_init__(self):
        super().__post_init__()
        if not self.audit_database:
            self.audit_database = str(pathlib.Path(self.data_dir) / "audit.db")

    @property
    def bundle_path(self) -> pathlib.Path:
        return pathlib.Path(self.bundle_dir) / self.bundle_file

    def pii_hash_key(self) -> bytes:
        if self.hash_key:
            return self.hash_key
        if not self.mesh_key:
            raise ValueError("set AIRSPACE_POLICY_HASH_KEY or the mesh key")
        # A key of its own, so a PII hash reveals nothing about the mesh key.
        return hmac.new(self.mesh_key, b"airspace-policy-pii-hash", hashlib.sha256).digest()
