"""Signed heads of the audit log, as RFC 6962 signs tree heads: (size, head hash, time)
signed with Ed25519.

The hash chain alone shows an edit only to someone who kept the head: whoever can
write the file can rewrite every entry after the one they changed. A signed head
pins the chain at a size; forging one needs the private key, while checking one needs
only the public key, so a verifier (or a witness) can check heads it cannot make.
"""

from __future__ import annotations

import dataclasses
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

# Domain separation: these bytes are signed for nothing but audit heads.
_CONTEXT = b"airspace-audit-head/v1"


@dataclasses.dataclass(frozen=True)
class SignedHead:
    size: int  # entries covered: the head is entry `size`
    hash: str  # that entry's chain hash
    time_us: int  # when it was signed, microseconds since the epoch
    key_id: str  # which key signed it (see key_id below)
    signature: str  # Ed25519, hex

    def as_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> SignedHead:
        return cls(
            size=int(data["size"]),
            hash=str(data["hash"]),
            time_us=int(data["time_us"]),
            key_id=str(data["key_id"]),
            signature=str(data["signature"]),
        )


def _message(size: int, head_hash: str, time_us: int) -> bytes:
    return b"\n".join((_CONTEXT, str(size).encode(), head_hash.encode(), str(time_us).encode()))


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


class HeadVerifier:
    """Checks signed heads; holds only the public key."""

    def __init__(self, public: Ed25519PublicKey):
        self._public = public
        self.key_id = key_id(public)

    @classmethod
    def from_public_bytes(cls, raw: bytes) -> HeadVerifier:
        return cls(Ed25519PublicKey.from_public_bytes(raw))

    def public_bytes(self) -> bytes:
        return self._public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def valid(self, head: SignedHead) -> bool:
        if head.key_id != self.key_id:
            return False
        try:
            self._public.verify(
                bytes.fromhex(head.signature), _message(head.size, head.hash, head.time_us)
            )
        except (InvalidSignature, ValueError):
            return False
        return True


class HeadSigner:
    def __init__(self, private: Ed25519PrivateKey):
        self._private = private
        self.verifier = HeadVerifier(private.public_key())

    @classmethod
    def generate(cls) -> HeadSigner:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> HeadSigner:
        """From the 32-byte private key (RFC 8032's seed)."""
        if len(seed) != 32:
            raise ValueError(f"an Ed25519 audit key is 32 bytes, not {len(seed)}")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    def seed(self) -> bytes:
        return self._private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    def sign(self, size: int, head_hash: str, time_us: int) -> SignedHead:
        signature = self._private.sign(_message(size, head_hash, time_us)).hex()
        return SignedHead(size, head_hash, time_us, self.verifier.key_id, signature)
