"""Prometheus metrics: a real server's endpoint parses, RPC counters move, names follow
the conventions and labels stay low-cardinality."""

from __future__ import annotations

import grpc
import pytest
from observability_support import CANARY, KEY, clear_pii_in, samples, scrape, token_for
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from airspace.agent.v1 import agent_pb2, agent_pb2_grpc
from airspace.mesh import server
from airspace.mesh.settings import ServerSettings
from airspace.policy.engine import CheckInput, Engine, Resource, Subject, load_bundle
from airspace.policy.service import metrics as policy_metrics
from airspace.policy.service import settings as policy_settings
from airspace.router import metrics as router_metrics
from airspace.state import metrics as state_metrics
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh

CARD_CALLS = {
    "grpc_service": "airspace.agent.v1.AgentService",
    "grpc_method": "GetAgentCard",
    "grpc_type": "unary",
}
FORBIDDEN_LABELS = {"run_id", "trace_id", "principal", "tenant", "user", "request_id", "step_key"}


def handled(values: dict, code: str, **labels) -> float:
    key = frozenset({**CARD_CALLS, **labels, "grpc_code": code}.items())
    return values.get(("airspace_grpc_server_handled_total", key), 0.0)


def latency_count(values: dict, **labels) -> float:
    key = frozenset({**CARD_CALLS, **labels}.items())
    return values.get(("airspace_grpc_server_handling_seconds_count", key), 0.0)


async def test_rpc_counters_and_latency_move_with_calls_by_method_and_code(probe):
    before = samples(await scrape(probe.metrics_port))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{probe.port}") as channel:
        stub = agent_pb2_grpc.AgentServiceStub(channel)
        for _ in range(2):
            await stub.GetAgentCard(agent_pb2.GetAgentCardRequest(), metadata=token_for("user:a"))
        for metadata in (token_for("user:missing"), ()):
            with pytest.raises(grpc.aio.AioRpcError):
                await stub.GetAgentCard(agent_pb2.GetAgentCardRequest(), metadata=metadata)
        replies = stub.Invoke(iter([agent_pb2.InvokeRequest()]), metadata=token_for("user:a"))
        assert [event.sequence async for event in replies] == [1]
    after = samples(await scrape(probe.metrics_port))

    def moved(read, *args, **labels) -> float:
        return read(after, *args, **labels) - read(before, *args, **labels)

    assert moved(handled, "OK") == 2
    assert moved(handled, "NOT_FOUND") == 1
    assert moved(handled, "UNAUTHENTICATED") == 1
    assert moved(latency_count) == 4
    invoke = {"grpc_method": "Invoke", "grpc_type": "bidi_stream"}
    assert moved(handled, "OK", **invoke) == 1
    assert moved(latency_count, **invoke) == 1


async def test_the_endpoint_is_prometheus_text_following_the_naming_conventions(probe):
    # Touch every metric family so each has a sample to check.
    router_metrics.record_run_started("contract-review")
    router_metrics.record_run_finished("contract-review", run_pb2.RUN_STATE_COMPLETED, 1.5)
    router_metrics.record_step_attempt("summary-writer", 0.02, succeeded=True)
    router_metrics.record_retry("summary-writer")
    router_metrics.record_handoff("triage", accepted=False)
    router_metrics.record_approval_requested()
    router_metrics.record_approval_decided(run_pb2.APPROVAL_OUTCOME_APPROVED)
    router_metrics.record_guardrail_verdict(
        run_pb2.GuardrailVerdict(checkpoint="step.input", verdict=run_pb2.VERDICT_ALLOW)
    )
    state_metrics.record_commit(3, 0.001)

    exposition = await scrape(probe.metrics_port)
    families = {f.name: f for f in text_string_to_metric_families(exposition)}
    ours = {name: family for name, family in families.items() if name.startswith("airspace_")}
    assert {
        "airspace_grpc_server_handled",
        "airspace_grpc_server_handling_seconds",
        "airspace_router_runs_started",
        "airspace_router_runs_finished",
        "airspace_router_step_attempt_duration_seconds",
        "airspace_router_guardrail_verdicts",
        "airspace_router_step_retries",
        "airspace_router_handoffs",
        "airspace_router_approvals_requested",
        "airspace_policy_decisions",
        "airspace_state_commit_batch_operations",
        "airspace_state_write_queue_depth",
    } <= set(ours)
    for name, family in ours.items():
        assert family.documentation, name
        for sample in family.samples:
            assert not FORBIDDEN_LABELS & set(sample.labels), sample
            if family.type == "counter":
                assert sample.name.endswith("_total"), sample.name
        if family.type == "histogram" and not name.endswith("_batch_operations"):
            assert name.endswith("_seconds"), name  # every other histogram is a duration
    assert all(not name.endswith("_created") for name in families)


def test_failed_runs_count_by_catalogued_reason_and_others_share_one_label():
    router_metrics.record_run_finished(
        "contract-review", run_pb2.RUN_STATE_FAILED, 2.0, "HOP_LIMIT"
    )
    router_metrics.record_run_finished(
        "contract-review", run_pb2.RUN_STATE_FAILED, 2.0, "MADE_UP_7"
    )
    values = samples(generate_latest(REGISTRY).decode())

    def failed(reason: str) -> float:
        key = frozenset({"workflow": "contract-review", "reason": reason}.items())
        return values[("airspace_router_runs_failed_total", key)]

    assert failed("HOP_LIMIT") >= 1 and failed("other") >= 1
    assert "MADE_UP_7" not in generate_latest(REGISTRY).decode()


def test_verdicts_outside_the_known_checkpoints_share_one_label():
    router_metrics.record_guardrail_verdict(
        run_pb2.GuardrailVerdict(checkpoint="made.up.42", verdict=run_pb2.VERDICT_DENY)
    )
    values = samples(generate_latest(REGISTRY).decode())
    key = frozenset({"checkpoint": "other", "verdict": "deny"}.items())
    assert values[("airspace_router_guardrail_verdicts_total", key)] >= 1
    assert "made.up.42" not in generate_latest(REGISTRY).decode()


def test_policy_decisions_count_verdicts_and_masked_entities_never_the_values():
    engine = Engine(load_bundle(policy_settings.PolicySettings().bundle_path), KEY)
    decision = engine.decide(
        CheckInput(
            "step.input",
            Subject("agent:summary-writer", "acme", ("agent",), "agent"),
            Resource("agent", "summary-writer", "acme"),
            payload={"input": {"text": CANARY}},
        )
    )
    before = samples(generate_latest(REGISTRY).decode())
    policy_metrics.record_decision(decision)
    exposition = generate_latest(REGISTRY).decode()
    after = samples(exposition)

    def moved(name: str, **labels) -> float:
        key = (name, frozenset(labels.items()))
        return after.get(key, 0.0) - before.get(key, 0.0)

    verdict = decision.verdict.name.lower()
    assert moved("airspace_policy_decisions_total", checkpoint="step.input", verdict=verdict) == 1
    assert moved("airspace_policy_pii_masks_total", entity="EMAIL") == 1
    assert moved("airspace_policy_pii_masks_total", entity="CREDIT_CARD") == 1
    assert clear_pii_in(exposition) == []


async def test_metrics_are_off_unless_a_port_is_set():
    srv = server.MeshServer("quiet", ServerSettings(mesh_key=KEY))
    await srv.start()
    try:
        assert srv.metrics_port is None
    finally:
        await srv.stop(0)
