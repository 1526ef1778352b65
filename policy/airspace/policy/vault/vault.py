"""The token vault as the async service sees it: values sealed with AES-GCM off the event loop.

A value is bound to its token, tenant and entity (the AEAD's associated data), so a
row copied to another tenant or token no longer opens. Nothing in clear is stored,
logged or audited; only ResolveToken returns a value, to a subject policy allows.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from airspace.policy.engine.model import Tokenized
from airspace.policy.vault.store import TokenStore

T = TypeVar("T")
_NONCE_BYTES = 12


class VaultError(Exception):
    """A stored value does not open with this key: the row or the key changed."""


class TokenVault:
    def __init__(self, store: TokenStore, key: bytes):
        if len(key) != 32:
            raise ValueError("the token vault key must be 32 bytes")
        self._store = store
        self._cipher = AESGCM(key)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vault")

    async def keep(self, tenant: str, tokens: Sequence[Tokenized]) -> None:
        """Returns once the tokens are durably stored (before their masks are used)."""
        rows = [
            (t.token, tenant, t.entity, self._seal(tenant, t.token, t.entity, t.value))
            for t in tokens
        ]
        await self._run(lambda: self._store.put(rows))

    async def resolve(self, tenant: str, token: str) -> tuple[str, str] | None:
        """(entity, value) of a token of `tenant`; None when the tenant has no such token."""
        found = await self._run(lambda: self._store.get(tenant, token))
        if found is None:
            return None
        entity, sealed = found
        return entity, self._open(tenant, token, entity, sealed)

    async def close(self) -> None:
        await self._run(self._store.close)
        self._executor.shutdown()

    def _seal(self, tenant: str, token: str, entity: str, value: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._cipher.encrypt(nonce, value.encode(), _bound(tenant, token, entity))

    def _open(self, tenant: str, token: str, entity: str, sealed: bytes) -> str:
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        try:
            plain = self._cipher.decrypt(nonce, ciphertext, _bound(tenant, token, entity))
        except InvalidTag as exc:
            raise VaultError(f"token {token} does not open with the vault key") from exc
        return plain.decode()

    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)


def _bound(tenant: str, token: str, entity: str) -> bytes:
    return "\x00".join((tenant, token, entity)).encode()
