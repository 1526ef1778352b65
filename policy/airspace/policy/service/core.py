"""The policy service's work, free of gRPC: decide and audit, record events, swap bundles."""

from __future__ import annotations

import logging
import pathlib
from collections.abc import Mapping
from typing import Any

from airspace.mesh import errors
from airspace.policy.audit.chain import AuditEntry, AuditRecord
from airspace.policy.audit.log import AuditLog
from airspace.policy.audit.records import decision_record, masked_details
from airspace.policy.audit.store import UntrustedHead
from airspace.policy.engine import (
    Bundle,
    CheckInput,
    Decision,
    Engine,
    Resource,
    Subject,
    Verdict,
    load_bundle,
)
from airspace.policy.engine.model import RBAC_GRANTED
from airspace.policy.obligations import ObligationError
from airspace.policy.service import metrics
from airspace.policy.vault.vault import TokenVault, VaultError

log = logging.getLogger("airspace.policy")

BUNDLE_LOADED = "policy.bundle_loaded"


class PolicyCore:
    def __init__(
        self, bundle_path: pathlib.Path, hash_key: bytes, audit: AuditLog, vault: TokenVault
    ):
        """Loads the bundle at `bundle_path`; a BundleError here stops the service."""
        self._bundle_path = bundle_path
        self._hash_key = hash_key
        self._engine = Engine(self._load(), hash_key)
        self.audit = audit
        self.vault = vault

    @property
    def bundle(self) -> Bundle:
        return self._engine.bundle

    async def check(self, check: CheckInput) -> Decision:
        """Decides and returns only once the decision is in the audit log (and the values
        behind its tokens are in the vault)."""
        engine = self._engine  # one bundle for the whole check, even during a reload
        decision = engine.decide(check)
        if decision.dry_run and decision.verdict != decision.evaluated_verdict:
            log.info(
                "dry-run bundle %s: %s would be %s (%s)",
                decision.bundle_version,
                check.checkpoint[:64],
                decision.evaluated_verdict.name,
                ", ".join(f"{r.code}/{r.rule_id}" for r in decision.reasons),
            )
        if decision.tokens:
            await self._keep_tokens(check.resource.tenant or check.subject.tenant, decision)
        await self._append(decision_record(check, decision, engine.masker))
        metrics.record_decision(decision)
        return decision

    async def resolve_token(
        self, subject: Subject, token: str, run_id: str = ""
    ) -> tuple[str, str, Decision]:
        """(entity, value, decision) for a token of the subject's tenant, once policy let the
        subject resolve tokens; the decision is audited, the value never is."""
        resource = Resource(kind="token", name=token, tenant=subject.tenant)
        decision = await self.authorize(subject, "token.resolve", resource, run_id)
        try:
            found = await self.vault.resolve(subject.tenant, token)
        except VaultError as exc:
            log.error("token vault: %s", exc)
            raise errors.Internal("the token cannot be opened with the vault key") from exc
        if found is None:  # another tenant's token is not found either: ids reveal nothing
            raise errors.NotFound(f"no token {token} in tenant {subject.tenant}")
        entity, value = found
        return entity, value, decision

    async def authorize(
        self, caller: Subject, checkpoint: str, resource: Resource, run_id: str = ""
    ) -> Decision:
        """Checks (and audits) the caller's own request; anything but ALLOW is refused."""
        decision = await self.check(CheckInput(checkpoint, caller, resource, run_id=run_id))
        if decision.verdict is not Verdict.ALLOW:
            reason = next((r for r in decision.reasons if r.code != RBAC_GRANTED), None)
            raise errors.PermissionDenied(
                f"{checkpoint} is not allowed: {reason.message if reason else 'denied'}",
                reason=reason.code if reason else "DENIED",
                metadata={"decision_id": decision.decision_id},
            )
        return decision

    async def record(
        self, kind: str, subject: Subject, run_id: str, details: Mapping[str, Any]
    ) -> AuditEntry:
        try:
            masked = masked_details(details, self._engine.masker)
        except ObligationError as exc:
            raise errors.InvalidArgument(
                "details: two member names become the same once masked", field="details"
            ) from exc
        return await self._append(
            AuditRecord(
                kind=kind,
                tenant=subject.tenant,
                principal=subject.principal,
                run_id=run_id,
                details=masked,
            )
        )

    async def reload(self, by: Subject) -> Bundle:
        """Activates the bundle on disk; one that fails validation leaves the old one active."""
        bundle = self._load()
        details = {"name": bundle.name, "version": bundle.version, "digest": bundle.digest}
        await self.record(BUNDLE_LOADED, by, "", {**details, "dry_run": bundle.dry_run})
        self._engine = Engine(bundle, self._hash_key)
        log.info("bundle %s %s (%s) active", bundle.name, bundle.version, bundle.digest[:12])
        return bundle

    def _load(self) -> Bundle:
        return load_bundle(self._bundle_path)

    async def _keep_tokens(self, tenant: str, decision: Decision) -> None:
        try:
            await self.vault.keep(tenant, decision.tokens)
        except Exception as exc:
            log.exception("token vault write failed")
            raise errors.Unavailable(
                "the token vault cannot be written; nothing was decided", retry_after=1.0
            ) from exc

    async def _append(self, record: AuditRecord) -> AuditEntry:
        try:
            return await self.audit.append(record)
        except UntrustedHead as exc:
            log.error("audit append refused: %s", exc)
            raise errors.Unavailable(f"the audit log cannot be written: {exc}") from exc
        except Exception as exc:
            log.exception("audit append failed")
            raise errors.Unavailable(
                "the audit log cannot be written; nothing was decided", retry_after=1.0
            ) from exc
