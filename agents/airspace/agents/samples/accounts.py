"""The sample customer accounts the support agents read (data/accounts.json): invoices,
weekly product usage and support history, as a billing or CRM system would return them."""

from __future__ import annotations

import functools
import json
from importlib import resources

from airspace.agents.kit import AgentFailure


@functools.cache
def _accounts() -> dict:
    return json.loads((resources.files(__package__) / "data" / "accounts.json").read_text())


def account(account_id: object) -> dict:
    """The account's record; an unknown or missing id is bad input, not a retry."""
    found = _accounts().get(account_id) if isinstance(account_id, str) else None
    if found is None:
        raise AgentFailure("INVALID_INPUT", "the input names no known account_id", retryable=False)
    return found


def duplicate_charges(invoices: list[dict]) -> list[dict]:
    """Invoices that bill a period already billed: each is a charge to refund."""
    billed: set[str] = set()
    duplicates = []
    for invoice in invoices:
        if invoice["period"] in billed:
            duplicates.append(invoice)
        billed.add(invoice["period"])
    return duplicates
