"""The policy service's bundle stream as routers' tests feed it: messages for the shipped
bundle, and a clock a test moves by hand."""

from __future__ import annotations

import hashlib
import pathlib

from airspace.policy.engine.pii.masking import Masker
from airspace.policy.v1 import policy_pb2

HASH_KEY = b"router-tests-hash-key"
DEFAULT_BUNDLE = (
    pathlib.Path(__file__).resolve().parents[2] / "policy/airspace/policy/bundles/default.yaml"
)
STALENESS = 30.0


def bundle(document: bytes, key: bytes = HASH_KEY) -> policy_pb2.WatchBundleResponse:
    """The message the policy service streams for `document`."""
    return policy_pb2.WatchBundleResponse(
        name="default",
        version="v",
        digest=hashlib.sha256(document).hexdigest(),
        document=document,
        source="default.yaml",
        hash_key_id=Masker(key).key_id(),
    )


def default_document(version: str = "2025.11.0") -> bytes:
    text = DEFAULT_BUNDLE.read_text()
    return text.replace('version: "2025.11.0"', f'version: "{version}"', 1).encode()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
