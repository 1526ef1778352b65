"""Replacement texts for detected spans: REDACT, PARTIAL, keyed HASH and TOKENIZE.

A TOKENIZE replacement names a fresh random token: the value stays retrievable only
through the token vault (policy/airspace/policy/vault), by a principal allowed to resolve it."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable

from airspace.policy.engine.model import MaskObligation, MaskOperator
from airspace.policy.engine.pii import detectors as d
from airspace.policy.engine.pii.scan import Span

# Entities with a meaningful partial form; for the others any hint would leak the secret.
PARTIAL_ENTITIES = frozenset(
    {d.EMAIL, d.PHONE, d.CREDIT_CARD, d.IBAN, d.US_SSN, d.IP_ADDRESS, d.API_KEY}
)
_KEEP_LAST = {d.PHONE: 2, d.CREDIT_CARD: 4, d.IBAN: 4, d.US_SSN: 4}
TOKEN_PREFIX = "tok_"
TOKEN = re.compile(r"tok_[0-9a-f]{32}")


def new_token() -> str:
    """A random token: it reveals nothing about the value and cannot be guessed."""
    return TOKEN_PREFIX + secrets.token_hex(16)


def token_replacement(entity: str, token: str) -> str:
    return f"[{entity}:{token}]"


class Masker:
    def __init__(self, hash_key: bytes, hash_length: int = 12):
        if not hash_key:
            raise ValueError("the PII hash key is not configured")
        self._key = hash_key
        self._length = hash_length

    def key_id(self) -> str:
        """Names the hash key without revealing it: maskers with the same id hash alike."""
        return hmac.new(self._key, b"airspace-policy-hash-key-id", hashlib.sha256).hexdigest()

    def replacement(self, entity: str, operator: MaskOperator, text: str) -> str:
        """The text to put in place of `text` (the normalized value of the span); TOKENIZE
        needs a vault and is done by the engine (see Engine._mask)."""
        if operator is MaskOperator.HASH:
            digest = hmac.new(self._key, _canonical(entity, text).encode(), hashlib.sha256)
            return f"[{entity}:hmac:{digest.hexdigest()[: self._length]}]"
        if operator is MaskOperator.PARTIAL and entity in PARTIAL_ENTITIES:
            return _partial(entity, text)
        return f"[{entity}]"

    def hash_masks(self, spans: Iterable[Span]) -> tuple[MaskObligation, ...]:
        """Every span replaced by its keyed hash: nothing readable is kept, yet the same
        value stays recognizable (how the audit log masks what it keeps)."""
        return tuple(
            MaskObligation(
                span.path,
                span.start,
                span.end,
                span.entity,
                MaskOperator.HASH,
                self.replacement(span.entity, MaskOperator.HASH, span.value),
                span.scope,
            )
            for span in spans
        )


def _canonical(entity: str, text: str) -> str:
    """One form per value, so the same email or card hashes alike however it was written."""
    if entity == d.EMAIL:
        return text.lower()
    if entity in (d.PHONE, d.CREDIT_CARD, d.US_SSN):
        return ("+" if text.startswith("+") else "") + re.sub(r"\D", "", text)
    if entity == d.IBAN:
        return re.sub(r"\s", "", text).upper()
    return text


def _partial(entity: str, text: str) -> str:
    if entity == d.EMAIL:
        local, _, domain = text.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if entity == d.IP_ADDRESS:
        return text.split(".", 1)[0] + ".*.*.*"
    if entity == d.API_KEY:
        return text[:4] + "****"
    return _keep_last(text, _KEEP_LAST[entity])


def _keep_last(text: str, keep: int) -> str:
    """Stars over every letter and digit but the last `keep`; separators stay."""
    remaining = sum(char.isalnum() for char in text)
    out = []
    for char in text:
        if char.isalnum():
            remaining -= 1
            out.append(char if remaining < keep else "*")
        else:
            out.append(char)
    return "".join(out)
