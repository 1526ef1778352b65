"""Opening the audit log at start: nothing is signed over a head that was not verified.

The start verifies the log from the last head the witness holds (the last one trusted)
to its end; when that finds something, the whole log is verified to say exactly what.
Anything found stops the start, unless an operator acknowledged that very incident:
then an incident entry naming every finding is appended and signed, and the service
continues from the log's end.
"""

from __future__ import annotations

import dataclasses
import logging

from airspace.policy.audit.chain import AuditRecord
from airspace.policy.audit.records import masked_details
from airspace.policy.audit.signing import SignedHead
from airspace.policy.audit.store import AuditStore, Batch
from airspace.policy.audit.verification import INCIDENT_KIND, UNREADABLE_WITNESS, Report
from airspace.policy.audit.witness import Witness, WitnessError
from airspace.policy.engine import Masker

log = logging.getLogger("airspace.policy.audit")

ACKNOWLEDGED_BY = "service:policy"
MAX_REASON = 500
_SHOWN_PROBLEMS = 20


@dataclasses.dataclass(frozen=True)
class Acknowledgement:
    incident: str  # the id the refused start printed
    reason: str

    def __post_init__(self):
        if not self.reason.strip():
            raise ValueError("an acknowledged audit incident needs a reason")
        if len(self.reason) > MAX_REASON:
            raise ValueError(f"the audit incident's reason is longer than {MAX_REASON} characters")


class AuditIncident(Exception):
    """The audit log failed verification at start and nobody acknowledged it."""

    def __init__(self, report: Report, acknowledged: str = ""):
        self.report = report
        self.incident = report.incident_id()
        problems = "; ".join(f"{f.check}: {f.problem}" for f in report.findings[:_SHOWN_PROBLEMS])
        more = len(report.findings) - _SHOWN_PROBLEMS
        stale = (
            f" (the acknowledgement names incident {acknowledged}, which is not this one)"
            if acknowledged
            else ""
        )
        super().__init__(
            f"the audit log failed verification (incident {self.incident}): {problems}"
            + (f"; and {more} more" if more > 0 else "")
            + f"{stale}. Nothing is signed until this is resolved: restore the audit database "
            "and its witness from a backup, or acknowledge the incident with "
            f"AIRSPACE_POLICY_AUDIT_ACKNOWLEDGE={self.incident} and "
            "AIRSPACE_POLICY_AUDIT_ACKNOWLEDGE_REASON='what happened', which records it "
            "in the log"
        )


def open_store(
    store: AuditStore,
    witness: Witness,
    acknowledgement: Acknowledgement | None,
    masker: Masker,
) -> Report:
    """Verifies `store` against `witness` and makes it trust its end; raises AuditIncident
    when something was found and `acknowledgement` does not name it. `masker` masks PII
    in the reason of an acknowledged incident."""
    report, witnessed = _verified(store, witness)
    if report.ok:
        store.trust(report.head)
        _catch_up(store, witness, witnessed, report)
        if acknowledgement is not None:
            log.warning("the audit log verified: the acknowledgement of an incident is not needed")
        return report
    unreadable = any(f.key == UNREADABLE_WITNESS for f in report.findings)
    if acknowledgement is None or acknowledgement.incident != report.incident_id() or unreadable:
        raise AuditIncident(report, acknowledgement.incident if acknowledgement else "")
    store.trust(report.head)
    reason = masked_details({"reason": acknowledgement.reason}, masker)["reason"]
    store.append([Batch([incident_record(report, reason)])])
    assert store.signed is not None
    witness.publish(store.signed)
    log.warning(
        "audit incident %s acknowledged (%s) and recorded as entry %d",
        report.incident_id(),
        acknowledgement.reason,
        store.signed.size,
    )
    return report


def incident_record(report: Report, reason: str) -> AuditRecord:
    return AuditRecord(
        kind=INCIDENT_KIND,
        tenant="*",
        principal=ACKNOWLEDGED_BY,
        details={
            "incident": report.incident_id(),
            "reason": reason,
            "findings": sorted(finding.key for finding in report.findings),
            "problems": [f"{f.check}: {f.problem}" for f in report.findings[:_SHOWN_PROBLEMS]],
            "log_size": report.head.size,
            "signed_size": report.signed_size,
        },
    )


def _verified(store: AuditStore, witness: Witness) -> tuple[Report, list[SignedHead]]:
    """The report of the start's verification, and the heads the witness holds."""
    try:
        witnessed = witness.heads()
    except WitnessError as exc:
        return store.verify([], witness_name=witness.name, witness_error=str(exc)), []
    if witnessed:
        last = witnessed[-1]
        quick = store.verify([last], first=last.size, witness_name=witness.name)
        if quick.ok:
            return quick, witnessed
    return store.verify(witnessed, witness_name=witness.name), witnessed


def _catch_up(
    store: AuditStore, witness: Witness, witnessed: list[SignedHead], report: Report
) -> None:
    """Publishes the verified end of the log when the witness lags behind it (the
    service stopped before its last publication)."""
    latest = store.signed_head_of(report.head)
    if latest is not None and (not witnessed or witnessed[-1].size < latest.size):
        witness.publish(latest)
