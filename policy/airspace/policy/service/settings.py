"""Settings of the policy service (AIRSPACE_POLICY_<FIELD>, falling back to AIRSPACE_<FIELD>)."""

from __future__ import annotations

import dataclasses
import pathlib

from airspace.mesh import errors
from airspace.mesh.settings import ServerSettings
from airspace.policy import keys
from airspace.policy.audit.opening import Acknowledgement

ENV_PREFIX = "POLICY"
# policy/airspace/policy/bundles next to this package, whatever the working directory.
_SHIPPED_BUNDLES = pathlib.Path(__file__).resolve().parents[1] / "bundles"


@dataclasses.dataclass
class PolicySettings(ServerSettings):
    # Folder of bundle files and the one that is active.
    bundle_dir: str = str(_SHIPPED_BUNDLES)
    bundle_file: str = "default.yaml"
    # How often a bundle stream to a router says it is alive while no bundle is sent;
    # well under the routers' AIRSPACE_ROUTER_POLICY_STALENESS_SECONDS.
    bundle_keepalive_seconds: float = 5.0
    # SQLite audit log; <data_dir>/audit.db when empty.
    audit_database: str = ""
    # SQLite token vault (values behind TOKENIZE masks, encrypted); <data_dir>/tokens.db.
    vault_database: str = ""
    # Key of the PII hash (HMAC-SHA-256) in masks and the audit log; derived from the
    # mesh key when empty. Changing it changes every hash from then on. Routers embed the
    # engine and need the same key (AIRSPACE_HASH_KEY sets both).
    hash_key: bytes = b""
    # The Ed25519 key that signs the audit log's heads: inline (64 hex digits) or a file
    # (a mounted secret); <data_dir>/audit-signing.key, created 0600 at first start, when
    # neither is set. Never derived from another key. Keep it: heads signed with
    # another key no longer verify.
    audit_key: str = ""
    audit_key_file: str = ""
    # Append-only file the signed heads are published to, outside the database's
    # folder; <data_dir>/witness/audit-heads.jsonl when empty.
    audit_witness: str = ""
    # Seconds between publications to the witness (0: after every commit).
    audit_witness_interval: float = 1.0
    # An incident a refused start named, acknowledged with a reason: the start records
    # it in the log and continues. Only that incident: anything else found still stops.
    audit_acknowledge: str = ""
    audit_acknowledge_reason: str = ""
    # Secret the token vault's AES-256-GCM key is derived from; the mesh key when empty.
    # Keep it: values sealed with another key can no longer be resolved.
    vault_key: bytes = b""

    def __post_init__(self):
        super().__post_init__()
        if not self.audit_database:
            self.audit_database = str(pathlib.Path(self.data_dir) / "audit.db")
        if not self.vault_database:
            self.vault_database = str(pathlib.Path(self.data_dir) / "tokens.db")
        if not self.audit_key_file:
            self.audit_key_file = str(pathlib.Path(self.data_dir) / "audit-signing.key")
        if not self.audit_witness:
            self.audit_witness = str(pathlib.Path(self.data_dir) / "witness" / "audit-heads.jsonl")
        if self.bundle_keepalive_seconds <= 0:
            raise errors.InvalidArgument(
                f"bundle_keepalive_seconds must be more than 0, not {self.bundle_keepalive_seconds}",
                field="bundle_keepalive_seconds",
            )
        if self.audit_witness_interval < 0:
            raise errors.InvalidArgument(
                f"audit_witness_interval must be 0 or more seconds, not {self.audit_witness_interval}",
                field="audit_witness_interval",
            )

    @property
    def bundle_path(self) -> pathlib.Path:
        return pathlib.Path(self.bundle_dir) / self.bundle_file

    def pii_hash_key(self) -> bytes:
        return keys.pii_hash_key(self.hash_key, self.mesh_key, "AIRSPACE_POLICY_HASH_KEY")

    def audit_acknowledgement(self) -> Acknowledgement | None:
        if not self.audit_acknowledge:
            return None
        return Acknowledgement(self.audit_acknowledge, self.audit_acknowledge_reason)

    def vault_encryption_key(self) -> bytes:
        """32 bytes, whatever the length of the configured secret."""
        return self._derived("airspace-policy-token-vault", "VAULT_KEY", self.vault_key)

    def _derived(self, purpose: str, setting: str, secret: bytes = b"") -> bytes:
        secret = secret or self.mesh_key
        if not secret:
            raise ValueError(f"set AIRSPACE_POLICY_{setting} or the mesh key")
        return keys.derived(secret, purpose)
