"""Runs the policy service: `python -m airspace.policy.service.main`."""

from __future__ import annotations

import logging
import pathlib

from airspace.mesh import logs, server, settings, telemetry
from airspace.mesh.server import MeshServer
from airspace.policy.audit.keys import load_signer
from airspace.policy.audit.log import AuditLog
from airspace.policy.audit.opening import AuditIncident, open_store
from airspace.policy.audit.store import SqliteAuditStore
from airspace.policy.audit.witness import FileWitness, Witness
from airspace.policy.engine import BundleError, Masker
from airspace.policy.engine.pii.log_masking import mask_log_text
from airspace.policy.service.audit_servicer import AuditServicer
from airspace.policy.service.core import PolicyCore
from airspace.policy.service.servicer import PolicyServicer
from airspace.policy.service.settings import ENV_PREFIX, PolicySettings
from airspace.policy.v1 import policy_pb2_grpc
from airspace.policy.vault.store import SqliteTokenStore
from airspace.policy.vault.vault import TokenVault
from airspace.v1 import observability_pb2_grpc

# sysexits' EX_DATAERR: the service's own data is wrong, restarting it changes nothing.
EXIT_AUDIT_INCIDENT = 65
log = logging.getLogger("airspace.policy")


def open_audit_log(config: PolicySettings, witness: Witness | None = None) -> AuditLog:
    """The audit log, verified against `witness` (the configured witness file when None);
    AuditIncident when tampered with."""
    signer = load_signer(config.audit_key, pathlib.Path(config.audit_key_file))
    store = SqliteAuditStore(config.audit_database, signer)
    witness = witness or FileWitness(config.audit_witness)
    try:
        masker = Masker(config.pii_hash_key())
        open_store(store, witness, config.audit_acknowledgement(), masker)
    except BaseException:
        store.close()
        raise
    return AuditLog(store, witness, config.audit_witness_interval)


def build_server(config: PolicySettings, witness: Witness | None = None) -> MeshServer:
    """The policy server (PolicyService and AuditService); it closes the audit log and the
    token vault when it stops. Raises BundleError when the configured bundle is invalid,
    AuditIncident when the audit log fails verification against `witness`."""
    audit = open_audit_log(config, witness)
    vault = TokenVault(SqliteTokenStore(config.vault_database), config.vault_encryption_key())
    core = PolicyCore(config.bundle_path, config.pii_hash_key(), audit, vault)
    srv = MeshServer("policy", config)
    servicer = PolicyServicer(core, keepalive_seconds=config.bundle_keepalive_seconds)
    srv.add_service(policy_pb2_grpc.add_PolicyServiceServicer_to_server, servicer)
    srv.add_service(observability_pb2_grpc.add_AuditServiceServicer_to_server, AuditServicer(core))
    srv.on_stop(audit.close)
    srv.on_stop(vault.close)
    return srv


def main() -> None:
    config = settings.from_command_line(PolicySettings, ENV_PREFIX, __doc__)
    telemetry.setup_for("policy", config)
    # Before the build: what the audit log's opening finds is logged like everything else.
    logs.setup("policy", mask_log_text, config.log_format)
    try:
        srv = build_server(config)
    except AuditIncident as exc:
        log.critical("policy: %s", exc)
        raise SystemExit(EXIT_AUDIT_INCIDENT) from exc
    except (BundleError, ValueError) as exc:
        raise SystemExit(f"policy: {exc}") from exc
    server.run(srv, mask_logs=mask_log_text)


if __name__ == "__main__":
    main()
