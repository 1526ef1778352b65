"""The policy engine: a plain library (no gRPC) that loads bundles and decides checks.

Usage (in process, as the router may do):

    bundle = load_bundle("policy/airspace/policy/bundles/default.yaml")
    engine = Engine(bundle, hash_key)
    decision = engine.decide(CheckInput("run.start", Subject("user:ann", "acme", ("operator",))))
"""

from airspace.policy.engine.bundle import Bundle
from airspace.policy.engine.decision import Engine
from airspace.policy.engine.loader import BundleError, load_bundle, parse_bundle, read_bundle
from airspace.policy.engine.model import (
    CheckInput,
    Decision,
    MaskObligation,
    MaskOperator,
    MaskScope,
    Reason,
    Resource,
    Subject,
    Tokenized,
    Verdict,
)
from airspace.policy.engine.pii.masking import Masker

__all__ = [
    "Bundle",
    "BundleError",
    "CheckInput",
    "Decision",
    "Engine",
    "MaskObligation",
    "MaskOperator",
    "MaskScope",
    "Masker",
    "Reason",
    "Resource",
    "Subject",
    "Tokenized",
    "Verdict",
    "load_bundle",
    "parse_bundle",
    "read_bundle",
]
