"""Runs the policy service: `python -m airspace.policy.service.main`."""

from __future__ import annotations

from airspace.mesh import server, settings, telemetry
from airspace.mesh.server import MeshServer
from airspace.policy.audit.log import AuditLog
from airspace.policy.audit.signing import HeadSigner
from airspace.policy.audit.store import SqliteAuditStore
from airspace.policy.engine import BundleError
from airspace.policy.engine.pii.log_masking import mask_log_text
from airspace.policy.service.audit_servicer import AuditServicer
from airspace.policy.service.core import PolicyCore
from airspace.policy.service.servicer import PolicyServicer
from airspace.policy.service.settings import ENV_PREFIX, PolicySettings
from airspace.policy.v1 import policy_pb2_grpc
from airspace.policy.vault.store import SqliteTokenStore
from airspace.policy.vault.vault import TokenVault
from airspace.v1 import observability_pb2_grpc


def build_server(config: PolicySettings) -> MeshServer:
    """The policy server (PolicyService and AuditService); it closes the audit log and the
    token vault when it stops. Raises BundleError when the configured bundle is invalid."""
    audit = AuditLog(
        SqliteAuditStore(config.audit_database, HeadSigner(config.audit_signing_key()))
    )
    vault = TokenVault(SqliteTokenStore(config.vault_database), config.vault_encryption_key())
    core = PolicyCore(config.bundle_path, config.pii_hash_key(), audit, vault)
    srv = MeshServer("policy", config)
    srv.add_service(policy_pb2_grpc.add_PolicyServiceServicer_to_server, PolicyServicer(core))
    srv.add_service(observability_pb2_grpc.add_AuditServiceServicer_to_server, AuditServicer(core))
    srv.on_stop(audit.close)
    srv.on_stop(vault.close)
    return srv


def main() -> None:
    config = settings.from_command_line(PolicySettings, ENV_PREFIX, __doc__)
    telemetry.setup("policy", config.otlp_endpoint)
    try:
        srv = build_server(config)
    except (BundleError, ValueError) as exc:
        raise SystemExit(f"policy: {exc}") from exc
    server.run(srv, mask_logs=mask_log_text)


if __name__ == "__main__":
    main()
