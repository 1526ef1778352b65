"""The load generator at tiny sizes: its engine, its method lookup, and real calls to a mesh."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import sys

import grpc
import pytest
from mesh_support import apply

from airspace.v1 import run_pb2
from bench import calls, loadgen
from bench.agents import WORKFLOW, WORKFLOW_SOURCE

pytestmark = pytest.mark.process

ROOT = pathlib.Path(__file__).resolve().parents[2]


async def test_drive_times_every_call_and_counts_its_outcome():
    outcomes = iter(["ok", "failed", "ok", "ok", "failed"])

    async def call():
        if next(outcomes) == "failed":
            raise loadgen.Failed("RUN_FAILED", "step two failed")

    result = await loadgen.drive(call, concurrency=2, total=5)
    assert result.count == 5
    assert result.statuses == {"OK": 3, "RUN_FAILED": 2}
    assert result.errors == {"RUN_FAILED: step two failed": 2}
    assert result.percentile(0) <= result.percentile(50) <= result.percentile(100)


async def test_a_timed_load_rates_only_the_calls_that_ended_in_time():
    async def call():
        await asyncio.sleep(0.02)

    result = await loadgen.drive(call, concurrency=2, duration=0.05)
    # Each worker's last call starts in time and ends after it: timed, but not in the rate.
    assert result.in_window < result.count
    assert result.window == 0.05
    assert result.rps == result.in_window / 0.05
    assert result.statuses == {"OK": result.count}


async def test_drive_needs_a_duration_or_a_total_but_not_both():
    async def call():
        pass

    with pytest.raises(ValueError, match="either a duration or a total"):
        await loadgen.drive(call, 1)
    with pytest.raises(ValueError, match="either a duration or a total"):
        await loadgen.drive(call, 1, duration=1.0, total=1)


def test_methods_are_found_by_either_spelling_and_streams_are_known():
    listing = loadgen.find_method("airspace.v1.RunService/ListRuns")
    assert listing.path == "/airspace.v1.RunService/ListRuns"
    assert not listing.server_streaming
    executing = loadgen.find_method("airspace.v1.RunService.ExecuteRun")
    assert executing.server_streaming
    assert executing.request('{"workflow": "w"}') == run_pb2.ExecuteRunRequest(workflow="w")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--call", "airspace.v1.Nope/Get"], "unknown service"),
        (["--call", "airspace.v1.RunService/Nope"], "has no method"),
        (["--call", "airspace.v1.RunService/ListRuns", "-d", '{"bogus": 1}'], "--data"),
        (["--call", "airspace.v1.RunService/ListRuns", "-m", "[]"], "--metadata"),
        (["--call", "airspace.v1.RunService/ListRuns", "-z", "soon"], "duration"),
    ],
)
def test_bad_command_lines_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        loadgen.plan(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


async def test_unary_and_streaming_calls_through_the_gateway(bench_mesh):
    mesh, client = bench_mesh
    async with grpc.aio.insecure_channel(mesh.gateway) as channel:
        method = loadgen.find_method("airspace.v1.RunService/ExecuteRun")
        request = method.request('{"workflow": "bench-three-step", "input": {"text": "hi"}}')
        streamed = await loadgen.drive(
            loadgen.caller(channel, method, request, metadata=client.metadata), 2, total=2
        )
        listing = loadgen.find_method("airspace.v1.RunService/ListRuns")
        listed = await loadgen.drive(
            loadgen.caller(channel, listing, listing.request("{}"), metadata=client.metadata),
            3,
            total=6,
        )
    assert streamed.statuses == {"OK": 2} and streamed.run_states == {"COMPLETED": 2}
    assert listed.statuses == {"OK": 6} and listed.run_states == {}
    assert "Status code distribution:\n  [OK]  6 responses" in loadgen.report(listed)


async def test_runs_that_fail_count_as_failed_calls_and_by_their_state(bench_mesh):
    mesh, client = bench_mesh
    over_budget = WORKFLOW_SOURCE.replace(
        f"name: {WORKFLOW}", "name: bench-over-budget\nbudget: {max_steps: 1}"
    )
    await apply(client, over_budget)
    method = loadgen.find_method("airspace.v1.RunService/RunWorkflow")
    async with grpc.aio.insecure_channel(mesh.gateway) as channel:
        results = {
            workflow: await loadgen.drive(
                loadgen.caller(
                    channel,
                    method,
                    method.request(f'{{"workflow": "{workflow}", "input": {{"text": "hi"}}}}'),
                    metadata=client.metadata,
                ),
                2,
                total=2,
            )
            for workflow in (WORKFLOW, "bench-over-budget")
        }
    completed, failed = results[WORKFLOW], results["bench-over-budget"]
    assert completed.statuses == {"OK": 2} and completed.run_states == {"COMPLETED": 2}
    assert failed.statuses == {"ABORTED": 2} and failed.run_states == {"FAILED": 2}
    assert all("BUDGET_EXCEEDED" in error for error in failed.errors)
    assert "Run state distribution:\n  [FAILED]  2 runs" in loadgen.report(failed)
    assert failed.summary()["run_states"] == {"FAILED": 2}


async def test_the_bench_run_call_checks_that_runs_complete(bench_mesh):
    mesh, client = bench_mesh
    async with grpc.aio.insecure_channel(mesh.gateway) as channel:
        result = await loadgen.drive(calls.execute_three_step(channel, client.metadata), 2, total=3)
        unauthenticated = await loadgen.drive(calls.list_runs(channel, ()), 1, total=1)
    assert result.statuses == {"OK": 3}
    assert unauthenticated.statuses == {"UNAUTHENTICATED": 1}


async def test_the_command_line_finds_the_key_and_prints_json(bench_mesh, tmp_path):
    mesh, client = bench_mesh
    api_key = dict(client.metadata)["authorization"].removeprefix("Bearer ")
    env = {**os.environ, "AIRSPACE_HOME": str(tmp_path / "home"), "AIRSPACE_API_KEY": api_key}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.loadgen",
        "--gateway",
        mesh.gateway,
        "--call",
        "airspace.v1.RunService/ListRuns",
        "-d",
        '{"page_size": 5}',
        "-c",
        "2",
        "-n",
        "4",
        "--json",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    assert process.returncode == 0
    summary = json.loads(out)
    assert summary["count"] == 4
    assert summary["status_codes"] == {"OK": 4}
    assert set(summary["latency_ms"]) == {"p10", "p25", "p50", "p75", "p90", "p95", "p99"}
