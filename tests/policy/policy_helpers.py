"""Builders shared by the policy tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import pathlib
import sqlite3
import textwrap

from airspace.mesh import channels, identity
from airspace.policy.audit import chain
from airspace.policy.audit.signing import HeadSigner
from airspace.policy.engine import Engine, load_bundle
from airspace.policy.engine.model import CheckInput, Resource, Subject

DEFAULT_BUNDLE = (
    pathlib.Path(__file__).resolve().parents[2]
    / "policy"
    / "airspace"
    / "policy"
    / "bundles"
    / "default.yaml"
)
HASH_KEY = b"policy-tests-hash-key"
MESH_KEY = b"policy-tests-mesh-key-0123456789abcdef"
ROUTER = channels.mesh_identity("router")

MINIMAL_BUNDLE = """\
name: test
version: "1"
roles:
  operator: [runs.*, steps.execute, actions.request]
  approver: [approvals.decide]
rules: []
"""


def write_bundle(folder: pathlib.Path, text: str, name: str = "default.yaml") -> pathlib.Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def engine_for(path: pathlib.Path = DEFAULT_BUNDLE) -> Engine:
    return Engine(load_bundle(path), HASH_KEY)


def user(*roles: str, tenant: str = "acme", principal: str = "user:ann", kind: str = "user"):
    return Subject(principal=principal, tenant=tenant, roles=roles, kind=kind)


def check(
    checkpoint: str,
    subject: Subject,
    *,
    kind: str = "run",
    name: str = "r-1",
    tenant: str = "acme",
    attributes: dict | None = None,
    payload: dict | None = None,
    clearances: tuple[str, ...] = (),
) -> CheckInput:
    return CheckInput(
        checkpoint=checkpoint,
        subject=subject,
        resource=Resource(kind=kind, name=name, tenant=tenant, attributes=attributes or {}),
        payload=payload or {},
        clearances=frozenset(clearances),
        run_id="r-1",
    )


def codes(decision) -> list[tuple[str, str]]:
    return [(reason.code, reason.rule_id) for reason in decision.reasons]


def as_(who: identity.Identity) -> tuple:
    """Call metadata carrying `who`, as the gateway or a mesh service would send it."""
    return ((identity.METADATA_KEY, identity.sign(who, MESH_KEY)),)


def tamper(db_path, *statements: str) -> None:
    """Edits an audit database as an attacker with file access would: drops the
    append-only triggers, then runs `statements`."""
    with sqlite3.connect(db_path) as conn:
        for table in ("audit_entries", "audit_signed_heads"):
            for action in ("update", "delete"):
                conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
        for statement in statements:
            conn.execute(statement)


def rewrite_chain(db_path, sequence: int, details: dict) -> None:
    """What an attacker with file access but not the key does: edit one entry's details,
    then recompute every hash after it, so the chain itself is consistent again (only
    the signed heads and the witness can tell)."""
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "SELECT sequence, time_us, kind, tenant, principal, run_id, decision_id, details, hash"
            " FROM audit_entries ORDER BY sequence"
        ).fetchall()
    statements, previous = [], chain.GENESIS_HASH
    for seq, time_us, kind, tenant, principal, run_id, decision_id, stored, digest in rows:
        if seq < sequence:
            previous = digest
            continue
        content = details if seq == sequence else json.loads(stored)
        record = chain.AuditRecord(kind, tenant, principal, run_id, decision_id, content)
        entry = chain.seal(seq, time_us, record, previous)
        previous = entry.hash
        statements.append(
            "UPDATE audit_entries SET details = "
            + "'"
            + json.dumps(content, sort_keys=True).replace("'", "''")
            + "'"
            + f", previous_hash = '{entry.previous_hash}', hash = '{entry.hash}'"
            + f" WHERE sequence = {seq}"
        )
    tamper(db_path, *statements)


def mesh_derived_signer() -> HeadSigner:
    """The key an attacker would guess first: derived from the mesh key, as the audit key
    once was."""
    return HeadSigner.from_seed(
        hmac.new(MESH_KEY, b"airspace-policy-audit-checkpoints", hashlib.sha256).digest()
    )


def resign_heads(db_path, signer: HeadSigner) -> None:
    """Replaces every signed head with one of the chain as it now stands, signed by
    `signer`."""
    with sqlite3.connect(db_path) as conn:
        sizes = conn.execute(
            "SELECT h.size, e.hash, h.time_us FROM audit_signed_heads h"
            " JOIN audit_entries e ON e.sequence = h.size"
        ).fetchall()
    statements = ["DELETE FROM audit_signed_heads"]
    for size, digest, time_us in sizes:
        head = signer.sign(size, digest, time_us)
        statements.append(
            "INSERT INTO audit_signed_heads (size, hash, time_us, key_id, signature) VALUES "
            f"({size}, '{head.hash}', {time_us}, '{head.key_id}', '{head.signature}')"
        )
    tamper(db_path, *statements)


def forge_append(db_path, signer: HeadSigner | None) -> int:
    """Appends an entry that continues the chain, and a head for it signed by `signer`
    (none when None); returns its sequence."""
    with sqlite3.connect(db_path) as conn:
        sequence, previous = conn.execute(
            "SELECT sequence, hash FROM audit_entries ORDER BY sequence DESC LIMIT 1"
        ).fetchone()
    record = chain.AuditRecord("approval.decided", "acme", "user:eve", details={"ok": True})
    entry = chain.seal(sequence + 1, 1, record, previous)
    statements = [
        "INSERT INTO audit_entries VALUES "
        f"({entry.sequence}, 1, '{entry.kind}', 'acme', 'user:eve', '', '',"
        f" '{json.dumps(dict(record.details))}', '{previous}', '{entry.hash}')"
    ]
    if signer is not None:
        head = signer.sign(entry.sequence, entry.hash, 1)
        statements.append(
            "INSERT INTO audit_signed_heads (size, hash, time_us, key_id, signature) VALUES "
            f"({head.size}, '{head.hash}', 1, '{head.key_id}', '{head.signature}')"
        )
    tamper(db_path, *statements)
    return entry.sequence
