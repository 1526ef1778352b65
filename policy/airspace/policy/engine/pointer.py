"""RFC 6901 JSON pointers, plus one extension for PII found in a member name.

A pointer ending in the token "~k" (invalid in plain RFC 6901, so it can never
collide with a real member) addresses the name of the member before it, not its
value: "/contacts/ann@example.com/~k" is the key "ann@example.com".
"""

from __future__ import annotations

from collections.abc import Iterable

KEY_TOKEN = "~k"


class PointerError(ValueError):
    pass


def join(tokens: Iterable[str | int]) -> str:
    return "".join("/" + str(t).replace("~", "~0").replace("/", "~1") for t in tokens)


def key_of(tokens: Iterable[str | int]) -> str:
    """Pointer to the name of the member that `tokens` lead to."""
    return join(tokens) + "/" + KEY_TOKEN


def split(pointer: str) -> tuple[list[str], bool]:
    """The unescaped tokens, and whether the pointer addresses a member name."""
    if pointer == "":
        return [], False
    if not pointer.startswith("/"):
        raise PointerError(f"JSON pointer {pointer!r} must start with '/'")
    raw = pointer[1:].split("/")
    is_key = raw[-1] == KEY_TOKEN
    if is_key:
        raw = raw[:-1]
        if not raw:
            raise PointerError("a member-name pointer needs a member")
    tokens = []
    for token in raw:
        if "~" in token.replace("~0", "").replace("~1", ""):
            raise PointerError(f"JSON pointer {pointer!r} has an invalid '~' escape")
        tokens.append(token.replace("~1", "/").replace("~0", "~"))
    return tokens, is_key
