"""Verification of the audit log: its chain, its signed heads, and the witness's heads.

One walk over the entries, in sequence order, with the signed heads of the database
and of the witness merged in by size. Each check is a verdict of its own (CHECKS).

Every finding has a stable key. An incident entry, written when an operator
acknowledged what a start found, names the keys it acknowledges; it counts only when
a signed head covers it, so nobody without the key can acknowledge anything.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from collections.abc import Iterable, Iterator, Sequence

from airspace.policy.audit.chain import GENESIS, AuditEntry, Head, recomputed_hash
from airspace.policy.audit.signing import HeadVerifier, SignedHead

CHECKS = {
    "chain": "every entry is in sequence, links to the one before and matches its hash",
    "signatures": "every signed head verifies with the audit key",
    "heads": "the chain matches every signed head in the database",
    "coverage": "a signed head covers the last entry, and none covers more than the log holds",
    "witness": "the log holds every head the witness saw",
}
INCIDENT_KIND = "audit.incident_acknowledged"
# A witness that cannot be read checks nothing: acknowledging that would switch it off.
UNREADABLE_WITNESS = "witness:unreadable"


@dataclasses.dataclass(frozen=True)
class Finding:
    check: str  # one of CHECKS
    key: str  # the same tampering gives the same key, however the log grew since
    sequence: int  # the first entry concerned
    problem: str


@dataclasses.dataclass(frozen=True)
class Report:
    entries_checked: int
    head: Head  # the last entry walked
    signed_size: int  # entries covered by a signed head that matched the chain
    findings: tuple[Finding, ...]  # not acknowledged
    acknowledged: tuple[Finding, ...]
    incidents: tuple[int, ...]  # sequences of the incident entries that count

    @property
    def ok(self) -> bool:
        return not self.findings

    def failed(self, check: str) -> list[Finding]:
        return [finding for finding in self.findings if finding.check == check]

    def incident_id(self) -> str:
        """Names what was found; an acknowledgement must name it, so it cannot stand for
        something found later."""
        keys = "\n".join(sorted(finding.key for finding in self.findings))
        return hashlib.sha256(keys.encode()).hexdigest()[:16]


def verify(
    entries: Iterable[AuditEntry],
    heads: Iterable[SignedHead],
    witnessed: Sequence[SignedHead],
    verifier: HeadVerifier,
    *,
    first: int = 1,
    witness_name: str = "the witness",
    witness_error: str = "",
) -> Report:
    """Checks `entries` (stored order, from sequence `first`) against each other, against
    the database's signed `heads` (ascending size) and the `witnessed` heads. From a
    `first` past 1, the first entry's link is not checked: a witnessed head vouches
    for it."""
    walk = _Walk(first)
    if witness_error:
        walk.add("witness", UNREADABLE_WITNESS, 0, witness_error)
    pins = (
        _Pins(walk, verifier, "database", iter(heads)),
        _Pins(walk, verifier, witness_name, iter(sorted(witnessed, key=lambda h: h.size))),
    )
    for entry in entries:
        walk.step(entry)
        for source in pins:
            source.reach(entry)
    for source in pins:
        source.finish()
    return walk.report()


class _Walk:
    def __init__(self, first: int):
        self.first = first
        self.expected = first
        self.previous: str | None = None if first > 1 else GENESIS.hash
        self.last = GENESIS
        self.checked = 0
        self.covered = 0
        self.findings: list[Finding] = []
        self._incidents: list[tuple[int, frozenset[str]]] = []

    def add(self, check: str, key: str, sequence: int, problem: str) -> None:
        self.findings.append(Finding(check, key, sequence, problem))

    def step(self, entry: AuditEntry) -> None:
        sequence = entry.sequence
        self.checked += 1
        clean = True
        if sequence != self.expected:
            gap = f"{self.expected}..{sequence - 1}"
            missing = (
                f"entry {self.expected} is"
                if sequence == self.expected + 1
                else f"entries {gap} are"
            )
            self.add("chain", f"chain:missing:{gap}", self.expected, f"{missing} missing")
            clean = False
        elif self.previous is not None and entry.previous_hash != self.previous:
            key = f"chain:link:{sequence}:{entry.hash[:16]}"
            self.add(
                "chain", key, sequence, f"entry {sequence} does not link to the entry before it"
            )
            clean = False
        if recomputed_hash(entry) != entry.hash:
            key = f"chain:content:{sequence}:{entry.hash[:16]}"
            self.add("chain", key, sequence, f"entry {sequence}'s content does not match its hash")
            clean = False
        if clean and entry.kind == INCIDENT_KIND:
            keys = entry.details.get("findings", [])
            if isinstance(keys, list):
                self._incidents.append((sequence, frozenset(str(key) for key in keys)))
        self.previous = entry.hash
        self.last = Head(sequence, entry.hash)
        self.expected = sequence + 1

    def report(self) -> Report:
        if self.last.size > self.covered:
            start = self.covered + 1
            self.add(
                "coverage",
                f"coverage:{start}",
                start,
                f"entries {start}..{self.last.size} are not covered by a signed head",
            )
        counted = [
            (sequence, keys) for sequence, keys in self._incidents if sequence <= self.covered
        ]
        acknowledged = frozenset().union(*(keys for _, keys in counted)) - {UNREADABLE_WITNESS}
        return Report(
            entries_checked=self.checked,
            head=self.last,
            signed_size=self.covered,
            findings=tuple(f for f in self.findings if f.key not in acknowledged),
            acknowledged=tuple(f for f in self.findings if f.key in acknowledged),
            incidents=tuple(sequence for sequence, _ in counted),
        )


class _Pins:
    """The signed heads of one source, matched against the chain as the walk passes them."""

    def __init__(
        self, walk: _Walk, verifier: HeadVerifier, source: str, heads: Iterator[SignedHead]
    ):
        self._walk = walk
        self._verifier = verifier
        self._source = source
        self._heads = heads
        self._next = next(heads, None)

    def reach(self, entry: AuditEntry) -> None:
        while self._next is not None and self._next.size <= entry.sequence:
            head = self._take()
            if head is None:
                continue
            if head.size == entry.sequence and head.hash == entry.hash:
                self._walk.covered = max(self._walk.covered, head.size)
            else:
                self._differs(head)

    def finish(self) -> None:
        while self._next is not None:
            head = self._take()
            if head is not None:
                self._beyond(head)

    def _take(self) -> SignedHead | None:
        """The next head, or None (and a finding) when its signature is not the audit key's."""
        head = self._next
        assert head is not None
        self._next = next(self._heads, None)
        if self._verifier.valid(head):
            return head
        other = (
            "" if head.key_id == self._verifier.key_id else f" (it names key {head.key_id[:16]})"
        )
        self._walk.add(
            "signatures",
            f"signature:{self._source}:{head.size}:{head.signature[:16]}",
            head.size,
            f"the head of entry {head.size} in the {self._source} is not signed with the "
            f"audit key {self._verifier.key_id}{other}",
        )
        return None

    @property
    def _database(self) -> bool:
        return self._source == "database"

    def _key(self, head: SignedHead) -> str:
        return f"{'head' if self._database else 'witness'}:{head.size}:{head.hash[:16]}"

    def _differs(self, head: SignedHead) -> None:
        if self._database:
            check = "heads"
            problem = (
                f"the chain no longer matches its signed head at entry {head.size}: "
                f"entries up to {head.size} were rewritten or removed"
            )
        else:
            check = "witness"
            problem = (
                f"{self._source} saw another entry {head.size} (signed {_when(head)}): "
                "the log was rewritten"
            )
        self._walk.add(check, self._key(head), self._walk.covered + 1, problem)

    def _beyond(self, head: SignedHead) -> None:
        held = self._walk.last.size
        if self._database:
            check = "coverage"
            problem = f"a signed head covers {head.size} entries but the log holds {held}"
        else:
            check = "witness"
            problem = (
                f"{self._source} saw {head.size} entries (signed {_when(head)}) but the log "
                f"holds {held}: entries were removed"
            )
        self._walk.add(check, self._key(head), held + 1, problem)


def _when(head: SignedHead) -> str:
    moment = datetime.datetime.fromtimestamp(head.time_us / 1e6, datetime.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
