"""PII hidden from a naive scan still never reaches an agent without clearance: split across
fields, nested three levels deep, base64-wrapped, behind zero-width characters or in
full-width digits. What the agent actually received is checked; a cleared agent, as a
control, receives the same input in clear."""

from __future__ import annotations

import base64
import json
import unicodedata

import pytest
from governance_support import deploy, ending, execute

from airspace.agents.kit import Agent, Reply
from airspace.policy.engine.pii.scan import scan_json
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh

EMAIL = "jane.doe@example.com"
PHONE = "+44 20 7946 0958"
CARD = "4111111111111111"
IBAN = "DE89370400440532013000"
TRICKS = {
    "zero-width": "write to ja\u200bne.doe@exa\u200dmple.com today",
    "full-width": "call ＋４４ ２０ ７９４６ ０９５８ please",
    "base64": "attachment " + base64.b64encode(f"from {EMAIL}, iban {IBAN}".encode()).decode(),
    "split": {"user": "jane.doe", "domain": "@example.com"},
    "split-card": ["4111 1111", "1111 1111"],
    "nested": {"customer": {"profile": {"contact": {"phone": PHONE, "card": CARD}}}},
}


def reader(name: str, received: list, clearances=()) -> Agent:
    agent = Agent(name=name, version="1.0.0", description="reads", clearances=clearances)

    @agent.handler
    async def read(task):
        received.append({"text": task.text, "data": task.data})
        return Reply(text="read")

    return agent


def in_clear(received: dict) -> list[str]:
    """The canary values in what an agent received, however they were disguised."""
    flat = unicodedata.normalize("NFKC", json.dumps(received, ensure_ascii=False))
    flat = "".join(char for char in flat if unicodedata.category(char) != "Cf")
    digits = "".join(char for char in flat if char.isdigit())
    decoded = [
        base64.b64decode(word).decode(errors="ignore")
        for word in flat.replace('"', " ").split()
        if len(word) > 16 and len(word) % 4 == 0 and word.isascii() and word.isalnum()
    ]
    found = [value for value in (EMAIL, IBAN) if value in flat or any(value in d for d in decoded)]
    found += [value for value in (CARD, PHONE) if "".join(filter(str.isdigit, value)) in digits]
    if "jane.doe" in flat and "example.com" in flat:
        found.append("split email")
    return found


@pytest.mark.parametrize("trick", sorted(TRICKS))
async def test_disguised_pii_is_masked_before_an_uncleared_agent_sees_it(mesh, trick):
    client, uncleared, cleared = mesh.client(), [], []
    await deploy(
        mesh,
        client,
        "name: intake\npattern: concurrent\nbranches: [{agent: reader}, {agent: trusted}]",
        reader("reader", uncleared),
        reader("trusted", cleared, clearances=("PII", "FINANCIAL")),
    )
    run_input = (
        {"text": TRICKS[trick]} if isinstance(TRICKS[trick], str) else {"doc": TRICKS[trick]}
    )
    events = await execute(client, "intake", run_input)
    assert ending(events).to == run_pb2.RUN_STATE_COMPLETED
    [seen], [control] = uncleared, cleared
    assert in_clear(control), "the cleared agent gets the data as it was sent"
    assert in_clear(seen) == [], seen
    assert scan_json(seen) == [], "nothing the scanner could still find"
