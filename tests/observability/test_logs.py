"""Structured logs: JSON lines carrying run id and trace id, PII masked, never payloads;
a real service process configured from AIRSPACE_LOG_FORMAT."""

from __future__ import annotations

import contextvars
import json
import logging
import os
import pathlib
import re
import signal
import subprocess
import sys

import grpc
import pytest
from observability_support import (
    CANARY,
    EMAIL,
    PROBE_LOGGER,
    PROBE_RUN_ID,
    clear_pii_in,
    json_lines,
    samples,
    scrape,
    token_for,
)

from airspace.agent.v1 import agent_pb2, agent_pb2_grpc
from airspace.mesh import logs
from airspace.policy.engine.pii.log_masking import mask_log_text

pytestmark = pytest.mark.process

ROOT = pathlib.Path(__file__).resolve().parents[2]
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_SPAN_ID = "b7ad6b7169203331"
TRACEPARENT = ("traceparent", f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01")


async def ask_card(probe, principal: str = "user:a") -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{probe.port}") as channel:
        stub = agent_pb2_grpc.AgentServiceStub(channel)
        metadata = (*token_for(principal), TRACEPARENT)
        try:
            await stub.GetAgentCard(agent_pb2.GetAgentCardRequest(), metadata=metadata)
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_json_lines_carry_the_run_id_and_the_callers_trace(probe, captured_logs):
    stream = captured_logs("json")
    await ask_card(probe)
    [line] = json_lines(stream)
    assert line["run_id"] == PROBE_RUN_ID
    assert line["trace_id"] == TRACE_ID
    assert line["span_id"] == PARENT_SPAN_ID
    assert (line["service"], line["logger"], line["level"]) == ("probe", PROBE_LOGGER, "INFO")
    assert line["message"].startswith("card asked by user:a")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])


async def test_pii_in_messages_is_masked_and_payloads_are_never_written(probe, captured_logs):
    json_stream, text_stream = captured_logs("json"), captured_logs("text")
    await ask_card(probe)
    await ask_card(probe, "user:missing")
    output = json_stream.getvalue() + text_stream.getvalue()
    assert clear_pii_in(output) == []
    assert "[EMAIL]" in output and "[CREDIT_CARD]" in output
    assert all("payload" not in line for line in json_lines(json_stream))
    exposition = await scrape(probe.metrics_port)
    assert clear_pii_in(exposition) == []


def test_text_lines_are_masked_and_name_the_run_and_trace():
    record = logging.LogRecord(PROBE_LOGGER, logging.INFO, __file__, 1, "got %s", (CANARY,), None)

    def format_in_a_run() -> str:
        logs.bind_run("run-text-1")
        return logs.TextFormatter(mask_log_text).format(record)

    line = contextvars.copy_context().run(format_in_a_run)
    assert line.endswith("got reach [EMAIL] or charge card [CREDIT_CARD] [run=run-text-1]")


def test_tracebacks_are_masked_too():
    try:
        raise ValueError(f"cannot parse {CANARY}")
    except ValueError:
        record = logging.LogRecord(
            PROBE_LOGGER, logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    entry = json.loads(logs.JsonFormatter("probe", mask_log_text).format(record))
    assert "ValueError: cannot parse reach [EMAIL]" in entry["exception"]
    assert clear_pii_in(json.dumps(entry)) == []


def test_server_addresses_stay_readable_but_client_addresses_are_masked():
    assert mask_log_text("listening on 127.0.0.1:50051") == "listening on 127.0.0.1:50051"
    assert mask_log_text(f"from 203.0.113.9 as {EMAIL}") == "from [IP_ADDRESS] as [EMAIL]"


@pytest.fixture
def state_process(tmp_path):
    """The state service as its own process, logging JSON, metrics on a free port."""
    env = {
        **os.environ,
        "AIRSPACE_DATA_DIR": str(tmp_path),
        "AIRSPACE_MESH_KEY": "observability-process-mesh-key-0123456789",
        "AIRSPACE_LOG_FORMAT": "json",
        "AIRSPACE_STATE_METRICS_PORT": "0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "airspace.state.main"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


async def test_a_service_process_logs_json_and_serves_metrics(state_process):
    ready = state_process.stdout.readline()
    assert ready.startswith("READY state "), ready + state_process.stderr.read()
    # Metrics, the store it opened, then serving.
    started = [json.loads(state_process.stderr.readline()) for _ in range(3)]
    messages = [line["message"] for line in started]
    assert {line["service"] for line in started} == {"state"}
    port = int(re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", messages[0]).group(1))
    assert messages[1].startswith("state store: ") and messages[1].endswith("state.db")
    assert messages[2].startswith("state listening on 127.0.0.1:")
    values = samples(await scrape(port))
    assert ("airspace_state_write_queue_depth", frozenset()) in values
    state_process.send_signal(signal.SIGTERM)
    assert state_process.wait(timeout=10) == 0
    rest = [json.loads(line) for line in state_process.stderr.read().splitlines() if line]
    assert [line["message"] for line in rest] == ["state shutting down"]
