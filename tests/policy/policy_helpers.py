"""Builders shared by the policy tests."""

from __future__ import annotations

import pathlib
import textwrap

from policy.engine import Engine, load_bundle
from policy.engine.model import CheckInput, Resource, Subject
from services.mesh import channels, identity

DEFAULT_BUNDLE = pathlib.Path(__file__).resolve().parents[2] / "policy" / "bundles" / "default.yaml"
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
