"""Helpers of the observability tests: the PII canary, a probe servicer that logs what it
is asked, and readers of Prometheus text and JSON log lines."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from airspace.agent.v1 import agent_pb2, agent_pb2_grpc
from airspace.mesh import errors, identity, logs

KEY = b"observability-test-mesh-key-0123456789"
EMAIL = "jane.canary@example.com"
CARD = "4111 1111 1111 1111"
CANARY = f"reach {EMAIL} or charge card {CARD}"
PROBE_LOGGER = "tests.observability.probe"
PROBE_RUN_ID = "run-observed-1"


def clear_pii_in(text: str) -> list[str]:
    """The canary values that appear in clear in `text` (card digits with or without spaces)."""
    return [value for value in (EMAIL, CARD, CARD.replace(" ", "")) if value in text]


class ProbeAgent(agent_pb2_grpc.AgentServiceServicer):
    """Logs the canary (and passes it as an `extra` payload) under a run id; fails with
    NOT_FOUND, naming the email, for the principal user:missing."""

    async def GetAgentCard(self, request, context):
        caller = identity.require()
        logs.bind_run(PROBE_RUN_ID)
        log = logging.getLogger(PROBE_LOGGER)
        log.info("card asked by %s: %s", caller.principal, CANARY, extra={"payload": CANARY})
        if caller.principal == "user:missing":
            raise errors.NotFound(f"no card for {EMAIL}")
        return agent_pb2.GetAgentCardResponse(card=agent_pb2.AgentCard(name="probe"))

    async def Invoke(self, request_iterator, context):
        identity.require()
        async for _ in request_iterator:
            break
        yield agent_pb2.InvokeEvent(sequence=1, final=agent_pb2.FinalOutput())


def token_for(principal: str) -> tuple:
    who = identity.Identity(principal=principal, tenant="acme", roles=("operator",))
    return ((identity.METADATA_KEY, identity.sign(who, KEY)),)


async def scrape(port: int) -> str:
    def get() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            assert reply.status == 200
            return reply.read().decode()

    return await asyncio.to_thread(get)


def samples(exposition: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a text exposition, keyed by (sample name, label items)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def json_lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
