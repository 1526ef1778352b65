"""Seals on the audit records the router stores in the state service's audit outbox.

A record waits in the outbox, in the state's database, until a router relays it to the
audit log, which then chains and signs it. Someone able to write the state's data folder
could meanwhile alter a record or add one, and the audit log would sign it as a
decision. So the router seals each record it stores (an HMAC under a key derived from
the mesh key, which the state service never holds) and checks the seal of each record
it claims back: one that does not hold is not relayed as it stands.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from airspace.policy.v1 import policy_pb2

# A key of its own: a seal is no token of the mesh, and a token is no seal.
_KEY_LABEL = b"airspace-router-audit-outbox-seal"


class OutboxSeal:
    def __init__(self, mesh_key: bytes):
        self._key = hmac.new(mesh_key, _KEY_LABEL, hashlib.sha256).digest()

    def seal(self, records: Sequence[policy_pb2.AuditRecord]) -> None:
        """Seals the records in place, as they are now (set every field first)."""
        for record in records:
            record.ClearField("outbox_seal")  # a record sealed before is sealed again
            record.outbox_seal = self._mac(record)

    def holds(self, record: policy_pb2.AuditRecord) -> bool:
        unsealed = policy_pb2.AuditRecord()
        unsealed.CopyFrom(record)
        unsealed.ClearField("outbox_seal")
        return hmac.compare_digest(record.outbox_seal, self._mac(unsealed))

    def _mac(self, unsealed: policy_pb2.AuditRecord) -> bytes:
        encoded = unsealed.SerializeToString(deterministic=True)
        return hmac.new(self._key, encoded, hashlib.sha256).digest()
