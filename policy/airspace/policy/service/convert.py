"""Proto <-> domain translation for the policy and audit services, with request validation."""

from __future__ import annotations

import re

from google.protobuf import struct_pb2

from airspace.mesh import errors, json_values
from airspace.mesh.identity import Identity
from airspace.policy.audit.chain import AuditEntry, AuditRecord
from airspace.policy.audit.verification import CHECKS, Finding, Report
from airspace.policy.engine import Bundle, CheckInput, Decision, Resource, Subject, Tokenized
from airspace.policy.engine.pii.masking import TOKEN
from airspace.policy.service.core import Decided
from airspace.policy.v1 import policy_pb2
from airspace.v1 import observability_pb2, run_pb2

_KIND_NAMES = {
    policy_pb2.PRINCIPAL_KIND_USER: "user",
    policy_pb2.PRINCIPAL_KIND_SERVICE_ACCOUNT: "service_account",
    policy_pb2.PRINCIPAL_KIND_AGENT: "agent",
    policy_pb2.PRINCIPAL_KIND_MESH: "mesh",
}
_AUDIT_KIND = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_KIND_RULE = "must be dotted lower case, e.g. run.state_changed"
# Records of one RecordDecisions call: one audit transaction (AuditLog.MAX_BATCH).
MAX_RECORDS = 512
MAX_REQUEST_ID = 64


def check_input(request: policy_pb2.CheckRequest) -> CheckInput:
    violations = _subject_violations(request, "subject")
    if not request.checkpoint:
        violations.insert(0, ("checkpoint", "is required"))
    if violations:
        raise errors.InvalidArgument(_summary(violations), violations=violations)
    resource = request.resource
    return CheckInput(
        checkpoint=request.checkpoint,
        subject=subject(request.subject),
        resource=Resource(
            kind=resource.kind,
            name=resource.name,
            tenant=resource.tenant,
            attributes=_struct(resource.attributes),
        ),
        payload=_struct(request.payload),
        clearances=frozenset(request.clearances),
        run_id=request.run_id,
        step_key=request.step_key,
    )


def audit_event(request: policy_pb2.RecordAuditRequest) -> tuple[str, Subject, str, dict]:
    violations = _subject_violations(request, "subject")
    if not _AUDIT_KIND.fullmatch(request.kind):
        violations.insert(0, ("kind", _KIND_RULE))
    if violations:
        raise errors.InvalidArgument(_summary(violations), violations=violations)
    return request.kind, subject(request.subject), request.run_id, _struct(request.details)


def decided(request: policy_pb2.RecordDecisionsRequest) -> list[Decided]:
    """Each record with the values behind its tokens, once every field is valid."""
    violations: list[tuple[str, str]] = []
    if not 0 < len(request.records) <= MAX_RECORDS:
        violations.append(("records", f"must hold 1 to {MAX_RECORDS} records"))
    if len(request.request_id) > MAX_REQUEST_ID:
        violations.append(("request_id", f"must be at most {MAX_REQUEST_ID} characters"))
    for index, record in enumerate(request.records[:MAX_RECORDS]):
        violations.extend(_record_violations(record, f"records[{index}]"))
    if len({bool(record.record_id) for record in request.records}) > 1:
        violations.append(("records", "must all have a record_id, or none"))
    if violations:
        raise errors.InvalidArgument(_summary(violations[:10]), violations=violations[:100])
    return [
        Decided(
            AuditRecord(
                kind=r.kind,
                tenant=r.tenant,
                principal=r.principal,
                run_id=r.run_id,
                decision_id=r.decision_id,
                details=_struct(r.details),
            ),
            [Tokenized(t.token, t.entity, t.value) for t in r.tokens],
            r.vault_tenant,
            r.record_id,
        )
        for r in request.records
    ]


def _record_violations(record: policy_pb2.AuditRecord, where: str) -> list[tuple[str, str]]:
    found = [] if _AUDIT_KIND.fullmatch(record.kind) else [(f"{where}.kind", _KIND_RULE)]
    found += [
        (f"{where}.{name}", "is required")
        for name in ("tenant", "principal")
        if not getattr(record, name)
    ]
    if record.tokens and not record.vault_tenant:
        found.append((f"{where}.vault_tenant", "is required with tokens"))
    if len(record.record_id) > MAX_REQUEST_ID:
        found.append((f"{where}.record_id", f"must be at most {MAX_REQUEST_ID} characters"))
    for index, token in enumerate(record.tokens):
        if not TOKEN.fullmatch(token.token):
            found.append((f"{where}.tokens[{index}].token", "must be tok_ and 32 hex digits"))
        if not token.entity or not token.value:
            found.append((f"{where}.tokens[{index}]", "entity and value are required"))
    return found


def token_request(request: policy_pb2.ResolveTokenRequest) -> tuple[Subject, str, str]:
    violations = _subject_violations(request, "subject")
    if not TOKEN.fullmatch(request.token):
        violations.insert(0, ("token", "must be a token like tok_ followed by 32 hex digits"))
    if violations:
        raise errors.InvalidArgument(_summary(violations), violations=violations)
    return subject(request.subject), request.token, request.run_id


def subject(message: policy_pb2.Subject) -> Subject:
    return Subject(
        principal=message.principal,
        tenant=message.tenant,
        roles=tuple(message.roles),
        kind=_KIND_NAMES.get(message.kind, ""),
    )


def caller_subject(caller: Identity) -> Subject:
    return Subject(caller.principal, caller.tenant, tuple(caller.roles), caller.kind)


def check_response(decision: Decision) -> policy_pb2.CheckResponse:
    return policy_pb2.CheckResponse(
        decision_id=decision.decision_id,
        verdict=f"VERDICT_{decision.verdict.name}",
        reasons=[
            run_pb2.Reason(code=r.code, rule_id=r.rule_id, message=r.message)
            for r in decision.reasons
        ],
        obligations=[
            policy_pb2.Obligation(
                mask=policy_pb2.MaskObligation(
                    path=o.path,
                    start=o.start,
                    end=o.end,
                    entity=o.entity,
                    operator=f"MASK_OPERATOR_{o.operator.value}",
                    replacement=o.replacement,
                    scope=policy_pb2.MaskScope.Name(o.scope),
                )
            )
            for o in decision.obligations
        ],
        bundle_version=decision.bundle_version,
        dry_run=decision.dry_run,
        approver_role=decision.approver_role,
    )


def bundle_info(bundle: Bundle) -> policy_pb2.GetBundleResponse:
    return policy_pb2.GetBundleResponse(
        name=bundle.name,
        version=bundle.version,
        digest=bundle.digest,
        dry_run=bundle.dry_run,
        rule_ids=[rule.id for rule in bundle.rules],
    )


def watched_bundle(
    bundle: Bundle, document: bytes, hash_key_id: str
) -> policy_pb2.WatchBundleResponse:
    return policy_pb2.WatchBundleResponse(
        name=bundle.name,
        version=bundle.version,
        digest=bundle.digest,
        document=document,
        source=bundle.source,
        hash_key_id=hash_key_id,
    )


def audit_entry(entry: AuditEntry) -> observability_pb2.AuditEntry:
    message = observability_pb2.AuditEntry(
        sequence=entry.sequence,
        tenant=entry.tenant,
        principal=entry.principal,
        kind=entry.kind,
        run_id=entry.run_id,
        decision_id=entry.decision_id,
        hash=entry.hash,
        previous_hash=entry.previous_hash,
    )
    message.time.FromMicroseconds(entry.time_us)
    message.details.update(dict(entry.details))
    return message


_LISTED_FINDINGS = 20


def verify_response(report: Report) -> observability_pb2.VerifyAuditLogResponse:
    first = report.findings[0] if report.findings else None
    checks = []
    for name, description in CHECKS.items():
        found = report.failed(name)
        checks.append(
            observability_pb2.AuditCheck(
                name=name,
                description=description,
                ok=not found,
                findings=[_finding(f) for f in found[:_LISTED_FINDINGS]],
                finding_count=len(found),
            )
        )
    return observability_pb2.VerifyAuditLogResponse(
        ok=report.ok,
        entries_checked=report.entries_checked,
        first_bad_sequence=first.sequence if first else 0,
        problem=first.problem if first else "",
        checks=checks,
        signed_entries=report.signed_size,
        acknowledged=[_finding(f) for f in report.acknowledged[:_LISTED_FINDINGS]],
        incident_sequences=report.incidents,
    )


def _finding(finding: Finding) -> observability_pb2.AuditFinding:
    return observability_pb2.AuditFinding(
        check=finding.check, sequence=finding.sequence, problem=finding.problem
    )


def _subject_violations(request, field: str) -> list[tuple[str, str]]:
    if not request.HasField(field):
        return [(field, "is required")]
    message = getattr(request, field)
    return [
        (f"{field}.{name}", "is required")
        for name in ("principal", "tenant")
        if not getattr(message, name)
    ]


def _summary(violations: list[tuple[str, str]]) -> str:
    return "; ".join(f"{field} {problem}" for field, problem in violations)


def _struct(message: struct_pb2.Struct) -> dict:
    return json_values.plain(message)
