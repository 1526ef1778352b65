"""Carry out the mask obligations of a policy decision on the checked payload.

    masked = apply_obligations(payload, response.obligations)

Takes proto `airspace.policy.v1.Obligation` messages (or the engine's MaskObligation)
and returns a masked copy; the input is not changed. Raises ObligationError when an
obligation cannot be carried out exactly (unknown kind, missing path, span out of
range, the span no longer holds the entity): the caller must then treat the check
as DENY. What "holds the entity" means depends on the mask's scope: the span is the
entity, decodes (base64) to text holding it, or is one piece of it (only its range
can be checked).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airspace.policy.engine import pointer
from airspace.policy.engine.model import MaskObligation, MaskScope
from airspace.policy.engine.pii.detectors import is_entity
from airspace.policy.engine.pii.normalize import normalize
from airspace.policy.engine.pii.scan import holds


class ObligationError(ValueError):
    pass


def apply_obligations(payload: dict, obligations: Iterable[Any], *, recheck: bool = True) -> dict:
    """`recheck=False` skips checking that each span still holds its entity: for spans
    just found in this very payload, where that check would only scan them again."""
    by_path: dict[str, list] = {}
    for index, obligation in enumerate(obligations):
        mask = _mask_of(obligation, index)
        by_path.setdefault(mask.path, []).append(mask)
    result = _tree_copy(payload)
    # Deepest first, values before member names: renaming a member must not break
    # the pointers of what lies under it, which all use the original names.
    targets = []
    for path, masks in by_path.items():
        try:
            tokens, is_key = pointer.split(path)
        except pointer.PointerError as exc:
            raise ObligationError(str(exc)) from exc
        targets.append((len(tokens), is_key, tokens, path, masks))
    for _, is_key, tokens, path, masks in sorted(targets, key=lambda t: (-t[0], t[1])):
        _apply_at(result, tokens, is_key, path, masks, recheck)
    return result


def _mask_of(obligation: Any, index: int):
    if isinstance(obligation, MaskObligation):
        return obligation
    kind = obligation.WhichOneof("kind") if hasattr(obligation, "WhichOneof") else None
    if kind != "mask":
        raise ObligationError(f"obligation {index}: unsupported kind {kind!r}")
    return obligation.mask


def _apply_at(
    document: dict, tokens: list[str], is_key: bool, path: str, masks: list, recheck: bool
) -> None:
    if not tokens:
        raise ObligationError(f"{path!r}: the payload itself is not a string")
    parent = _resolve(document, tokens[:-1], path)
    last = tokens[-1]
    if is_key:
        if not isinstance(parent, dict) or last not in parent:
            raise ObligationError(f"{path!r}: no such member")
        masked = _masked(last, masks, path, recheck)
        if masked != last and masked in parent:
            raise ObligationError(f"{path!r}: masking would merge two members")
        items = [(masked if key == last else key, value) for key, value in parent.items()]
        parent.clear()
        parent.update(items)
        return
    container, key = _slot(parent, last, path)
    if not isinstance(container[key], str):
        raise ObligationError(f"{path!r}: not a string")
    container[key] = _masked(container[key], masks, path, recheck)


def _resolve(document: Any, tokens: list[str], path: str) -> Any:
    node = document
    for token in tokens:
        container, key = _slot(node, token, path)
        node = container[key]
    return node


def _slot(node: Any, token: str, path: str) -> tuple[Any, Any]:
    if isinstance(node, dict):
        if token not in node:
            raise ObligationError(f"{path!r}: no member {token!r}")
        return node, token
    if isinstance(node, list):
        if not token.isdigit() or int(token) >= len(node) or (len(token) > 1 and token[0] == "0"):
            raise ObligationError(f"{path!r}: no element {token!r}")
        return node, int(token)
    raise ObligationError(f"{path!r}: cannot descend into a {type(node).__name__}")


def _masked(text: str, masks: list, path: str, recheck: bool) -> str:
    """`text` with every span replaced, last span first so earlier offsets stay valid."""
    ordered = sorted(masks, key=lambda mask: mask.start, reverse=True)
    previous_start = len(text) + 1
    for mask in ordered:
        if not 0 <= mask.start < mask.end <= len(text):
            raise ObligationError(f"{path!r}: span [{mask.start}, {mask.end}) is out of range")
        if mask.end > previous_start:
            raise ObligationError(f"{path!r}: overlapping spans")
        if recheck and not _still_holds(text[mask.start : mask.end], mask):
            raise ObligationError(f"{path!r}: span [{mask.start}, {mask.end}) changed")
        text = text[: mask.start] + mask.replacement + text[mask.end :]
        previous_start = mask.start
    return text


def _still_holds(span: str, mask) -> bool:
    try:
        scope = MaskScope(mask.scope or MaskScope.ENTITY)  # proto enum numbers, 0 = ENTITY
    except ValueError:
        return False  # a scope this code does not know: it cannot check the span
    if scope is MaskScope.FRAGMENT:
        return True
    if scope is MaskScope.ENCODED:
        return holds(span, mask.entity)
    return is_entity(normalize(span).text, mask.entity)


def _tree_copy(value):
    """A copy in which no two paths share an object (deepcopy would keep the sharing of a
    payload that holds the same dict twice, and masking one path would mask both)."""
    if isinstance(value, dict):
        return {key: _tree_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_tree_copy(item) for item in value]
    return value
