"""The policy service's work, free of gRPC: decide and audit, record events, swap bundles."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import pathlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from airspace.mesh import errors
from airspace.policy.audit.chain import AuditEntry, AuditRecord
from airspace.policy.audit.log import AuditLog
from airspace.policy.audit.records import DECISION_KIND, decision_record, masked_details
from airspace.policy.audit.store import Appended, UntrustedHead
from airspace.policy.engine import (
    Bundle,
    CheckInput,
    Decision,
    Engine,
    Masker,
    Resource,
    Subject,
    Tokenized,
    Verdict,
    parse_bundle,
    read_bundle,
)
from airspace.policy.engine.model import RBAC_GRANTED
from airspace.policy.obligations import ObligationError
from airspace.policy.service import metrics
from airspace.policy.vault.vault import TokenVault, VaultError

log = logging.getLogger("airspace.policy")

BUNDLE_LOADED = "policy.bundle_loaded"


@dataclasses.dataclass(frozen=True)
class ActiveBundle:
    """The bundle in force and the document it was parsed from, as routers receive it."""

    bundle: Bundle
    document: bytes


@dataclasses.dataclass(frozen=True)
class Decided:
    """An audit record of a decision taken elsewhere, with the values behind its tokens."""

    record: AuditRecord
    tokens: Sequence[Tokenized] = ()
    vault_tenant: str = ""  # whose vault keeps the tokens
    # Appended at most once under this id, whatever batch carries it (a relayed outbox).
    record_id: str = ""


def _record_request(item: Decided) -> str:
    """The request id a record with a record_id is appended under, apart from batches'."""
    return f"record:{item.record_id}" if item.record_id else ""


def event_record(
    kind: str, subject: Subject, run_id: str, details: Mapping[str, Any], masker: Masker
) -> AuditRecord:
    """The audit record of an event, its details' PII masked (they hold free text)."""
    try:
        masked = masked_details(details, masker)
    except ObligationError as exc:
        raise errors.InvalidArgument(
            "details: two member names become the same once masked", field="details"
        ) from exc
    return AuditRecord(
        kind=kind, tenant=subject.tenant, principal=subject.principal, run_id=run_id, details=masked
    )


class PolicyCore:
    def __init__(
        self, bundle_path: pathlib.Path, hash_key: bytes, audit: AuditLog, vault: TokenVault
    ):
        """Loads the bundle at `bundle_path`; a BundleError here stops the service."""
        self._bundle_path = bundle_path
        self._hash_key = hash_key
        self._active = self._load()
        self._engine = Engine(self._active.bundle, hash_key)
        self._reloaded = asyncio.Event()
        self.audit = audit
        self.vault = vault

    @property
    def bundle(self) -> Bundle:
        return self._engine.bundle

    @property
    def hash_key_id(self) -> str:
        return self._engine.masker.key_id()

    async def bundles(self) -> AsyncIterator[ActiveBundle]:
        """The active bundle now, then each one a reload activates, for as long as asked."""
        while True:
            reloaded = self._reloaded
            yield self._active
            await reloaded.wait()

    async def check(self, check: CheckInput) -> Decision:
        """Decides and returns only once the decision is in the audit log (and the values
        behind its tokens are in the vault)."""
        engine = self._engine  # one bundle for the whole check, even during a reload
        decision = engine.decide(check)
        if decision.tokens:
            await self._keep_tokens(check.resource.tenant or check.subject.tenant, decision.tokens)
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
        return await self._append(event_record(kind, subject, run_id, details, self._engine.masker))

    async def record_decided(
        self, decided: Sequence[Decided], request_id: str = ""
    ) -> list[AuditEntry]:
        """Appends records decided elsewhere in one transaction, once the values behind
        their tokens are in the vault: a token is never shown before it can be resolved.
        A retry of a batch (the same `request_id`) gets the entries first appended; records
        with a record_id are each appended once under their own id instead."""
        for item in decided:
            if item.tokens:
                await self._keep_tokens(item.vault_tenant, item.tokens)
        if any(item.record_id for item in decided):
            each = await self._append_each(decided)
        else:
            each = [await self._append_all([item.record for item in decided], request_id)]
        if any(appended.conflicting for appended in each):
            raise errors.AlreadyExists(
                "request_id (or a record_id) belongs to other records, appended before; send "
                "a new id for new records",
                reason="REQUEST_ID_REUSED",
            )
        for appended in each:
            reported = [] if appended.replayed else appended.entries
            for entry in (entry for entry in reported if entry.kind == DECISION_KIND):
                metrics.record_reported(entry.details)
        return [entry for appended in each for entry in appended.entries]

    async def reload(self, by: Subject) -> Bundle:
        """Activates the bundle on disk; one that fails validation leaves the old one active.
        Watchers (routers) are sent the new bundle once its loading is audited."""
        active = self._load()
        bundle = active.bundle
        details = {"name": bundle.name, "version": bundle.version, "digest": bundle.digest}
        await self.record(BUNDLE_LOADED, by, "", {**details, "dry_run": bundle.dry_run})
        self._engine = Engine(bundle, self._hash_key)
        self._active = active
        self._reloaded.set()
        self._reloaded = asyncio.Event()
        log.info("bundle %s %s (%s) active", bundle.name, bundle.version, bundle.digest[:12])
        return bundle

    def _load(self) -> ActiveBundle:
        document = read_bundle(self._bundle_path)
        return ActiveBundle(parse_bundle(document, self._bundle_path.name), document)

    async def _keep_tokens(self, tenant: str, tokens: Sequence[Tokenized]) -> None:
        try:
            await self.vault.keep(tenant, tokens)
        except Exception as exc:
            log.exception("token vault write failed")
            raise errors.Unavailable(
                "the token vault cannot be written; nothing was decided", retry_after=1.0
            ) from exc

    async def _append(self, record: AuditRecord) -> AuditEntry:
        [entry] = (await self._append_all([record])).entries
        return entry

    async def _append_each(self, decided: Sequence[Decided]) -> list[Appended]:
        """The records as batches of one under their record ids, queued together so that
        they share the log's next transaction (when they fit in one)."""
        return list(
            await asyncio.gather(
                *(self._append_all([item.record], _record_request(item)) for item in decided)
            )
        )

    async def _append_all(self, records: Sequence[AuditRecord], request_id: str = "") -> Appended:
        try:
            return await self.audit.append_batch(records, request_id)
        except UntrustedHead as exc:
            log.error("audit append refused: %s", exc)
            raise errors.Unavailable(f"the audit log cannot be written: {exc}") from exc
        except Exception as exc:
            log.exception("audit append failed")
            raise errors.Unavailable(
                "the audit log cannot be written; nothing was decided", retry_after=1.0
            ) from exc
