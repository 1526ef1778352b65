"""Keys of the policy engine and its service, each derived from one configured secret.

The router embeds the engine and must hash PII with the very key the policy service
uses, so both derive it here from the same settings (AIRSPACE_HASH_KEY, else the mesh key).
"""

from __future__ import annotations

import hashlib
import hmac

PII_HASH = "airspace-policy-pii-hash"


def derived(secret: bytes, purpose: str) -> bytes:
    """A key of its own per purpose, so none reveals anything about `secret`."""
    return hmac.new(secret, purpose.encode(), hashlib.sha256).digest()


def pii_hash_key(configured: bytes, mesh_key: bytes, setting: str) -> bytes:
    """The configured PII hash key, else one derived from the mesh key."""
    if configured:
        return configured
    if not mesh_key:
        raise ValueError(f"set {setting} or the mesh key")
    return derived(mesh_key, PII_HASH)
