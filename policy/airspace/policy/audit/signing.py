"""Signed checkpoints of the chain head: HMAC-SHA-256 over (entry count, head hash).

The hash chain alone shows an edit only to someone who kept the head: whoever can
write the file can rewrite every entry after the one they changed, and the head row
with them. A checkpoint is signed with a key the file does not hold, so a rewritten
chain no longer matches its checkpoints, and a forged checkpoint has no valid
signature. One checkpoint is written per committed batch, in the same transaction:
it costs no fsync of its own (group commit makes that one per batch), and every
committed head stays signed, so appending never re-signs a tail that someone
rewrote after the last checkpoint.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    count: int  # entries covered: the head is entry `count`
    hash: str  # that entry's hash
    signature: str


class HeadSigner:
    def __init__(self, key: bytes):
        if not key:
            raise ValueError("the audit checkpoint key is not configured")
        self._key = key

    def sign(self, count: int, head_hash: str) -> Checkpoint:
        return Checkpoint(count, head_hash, self._mac(count, head_hash))

    def valid(self, checkpoint: Checkpoint) -> bool:
        expected = self._mac(checkpoint.count, checkpoint.hash)
        return hmac.compare_digest(expected, checkpoint.signature)

    def _mac(self, count: int, head_hash: str) -> str:
        return hmac.new(self._key, f"{count}:{head_hash}".encode(), hashlib.sha256).hexdigest()
