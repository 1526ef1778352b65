"""The audit signing key: a secret of its own, never derived from another key.

Given inline (hex) or as a file (a mounted secret, a KMS-provided file); otherwise a
key file is created, private to the service's user, on first start. The file holds
the 32-byte Ed25519 private key in hex.
"""

from __future__ import annotations

import logging
import pathlib

from airspace.mesh.private_files import open_to_others, write_new_private
from airspace.policy.audit.signing import HeadSigner

log = logging.getLogger("airspace.policy.audit")


def parse_key(text: str, where: str) -> HeadSigner:
    try:
        return HeadSigner.from_seed(bytes.fromhex(text.strip()))
    except ValueError as exc:
        raise ValueError(f"{where}: not a 32-byte Ed25519 key in hex ({exc})") from None


def load_signer(inline_hex: str, path: pathlib.Path) -> HeadSigner:
    """The signer from `inline_hex` when given, else from `path`, created when missing."""
    if inline_hex:
        return parse_key(inline_hex, "the audit key")
    if not path.exists():
        signer = HeadSigner.generate()
        write_new_private(path, signer.seed().hex() + "\n")
        log.info("created the audit signing key %s (key id %s)", path, signer.verifier.key_id)
        return signer
    if open_to_others(path):
        log.warning("the audit signing key %s can be read by other users: make it 0600", path)
    return parse_key(path.read_text(), str(path))
