"""`airspace agent check HOST:PORT`: exit 0 when the agent conforms, 1 when it does not."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
from conformance_agents import SloppyAgent, triage_agent

from airspace.agent.v1 import agent_pb2_grpc
from airspace.cli.main import main

pytestmark = pytest.mark.mesh


async def airspace(*argv: str) -> int:
    # The command runs its own event loop, so it runs in a thread beside the test's loop.
    return await asyncio.to_thread(main, list(argv))


async def test_a_conforming_agent_exits_zero_with_a_line_per_check(serve, capsys, tmp_path):
    endpoint = await serve(triage_agent())
    escalation = tmp_path / "escalate.txt"
    escalation.write_text("please escalate this")
    code = await airspace(
        "agent", "check", endpoint,
        "--handoff-input", f"@{escalation}",
        "--action-input", "I want a refund",
        "--action", "payments.refund",
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "conformance of triage at" in out
    assert out.count(" PASS ") == 13 and "CONFORMS" in out


async def test_a_failing_agent_exits_one_and_prints_what_to_fix(capsys):
    server = grpc.aio.server()
    agent_pb2_grpc.add_AgentServiceServicer_to_server(SloppyAgent(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        code = await airspace("agent", "check", f"127.0.0.1:{port}", "--only", "invoke.stream")
    finally:
        await server.stop(0)
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL" in out and "event 1 has sequence 0, expected 1" in out and "fix" in out


async def test_json_output_is_the_whole_report(serve, capsys):
    endpoint = await serve(triage_agent())
    code = await airspace("agent", "check", endpoint, "--only", "card", "--json")
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["passed"] is True and report["agent"] == "triage"
    assert [r["check"] for r in report["results"]] == ["card"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["agent", "check", "no-port"], "expected HOST:PORT"),
        (["agent", "check", "127.0.0.1:1", "--only", "nonsense"], "no check is named nonsense"),
        (["agent", "check", "127.0.0.1:1", "--input", "@/no/such/file"], "cannot read"),
    ],
)
def test_bad_arguments_are_usage_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_help_shows_examples(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["agent", "check", "--help"])
    assert exit_info.value.code == 0
    assert "airspace agent check 127.0.0.1:7301" in capsys.readouterr().out
