"""Settings of the policy service (AIRSPACE_POLICY_<FIELD>, falling back to AIRSPACE_<FIELD>)."""

from __future__ import annotations

import dataclasses
import pathlib

from airspace.mesh.settings import ServerSettings
from airspace.policy import keys

ENV_PREFIX = "POLICY"
# policy/airspace/policy/bundles next to this package, whatever the working directory.
_SHIPPED_BUNDLES = pathlib.Path(__file__).resolve().parents[1] / "bundles"


@dataclasses.dataclass
class PolicySettings(ServerSettings):
    # Folder of bundle files and the one that is active.
    bundle_dir: str = str(_SHIPPED_BUNDLES)
    bundle_file: str = "default.yaml"
    # SQLite audit log; <data_dir>/audit.db when empty.
    audit_database: str = ""
    # SQLite token vault (values behind TOKENIZE masks, encrypted); <data_dir>/tokens.db.
    vault_database: str = ""
    # Key of the PII hash (HMAC-SHA-256) in masks and the audit log; derived from the
    # mesh key when empty. Changing it changes every hash from then on. Routers embed the
    # engine and need the same key (AIRSPACE_HASH_KEY sets both).
    hash_key: bytes = b""
    # Key that signs the audit log's checkpoints (HMAC-SHA-256); derived from the mesh key
    # when empty. Keep it: checkpoints signed with another key no longer verify.
    audit_key: bytes = b""
    # Secret the token vault's AES-256-GCM key is derived from; the mesh key when empty.
    # Keep it: values sealed with another key can no longer be resolved.
    vault_key: bytes = b""

    def __post_init__(self):
        super().__post_init__()
        if not self.audit_database:
            self.audit_database = str(pathlib.Path(self.data_dir) / "audit.db")
        if not self.vault_database:
            self.vault_database = str(pathlib.Path(self.data_dir) / "tokens.db")

    @property
    def bundle_path(self) -> pathlib.Path:
        return pathlib.Path(self.bundle_dir) / self.bundle_file

    def pii_hash_key(self) -> bytes:
        return keys.pii_hash_key(self.hash_key, self.mesh_key, "AIRSPACE_POLICY_HASH_KEY")

    def audit_signing_key(self) -> bytes:
        return self.audit_key or self._derived("airspace-policy-audit-checkpoints", "AUDIT_KEY")

    def vault_encryption_key(self) -> bytes:
        """32 bytes, whatever the length of the configured secret."""
        return self._derived("airspace-policy-token-vault", "VAULT_KEY", self.vault_key)

    def _derived(self, purpose: str, setting: str, secret: bytes = b"") -> bytes:
        secret = secret or self.mesh_key
        if not secret:
            raise ValueError(f"set AIRSPACE_POLICY_{setting} or the mesh key")
        return keys.derived(secret, purpose)
