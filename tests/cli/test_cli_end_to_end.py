"""The CLI against real gRPC servers of the public API, credentials found on disk."""

import asyncio
import json
import pathlib
import signal
import socket
import sys

import pytest
from cli_gateway_fakes import API_KEY, Catalog, servicers
from google.protobuf import json_format

from airspace.cli.main import main
from airspace.mesh.reasons import Reason, explain
from airspace.mesh.server import MeshServer
from airspace.mesh.settings import ServerSettings
from airspace.v1 import run_pb2

pytestmark = pytest.mark.process

REPO = pathlib.Path(__file__).resolve().parents[2]
WORKFLOW = """\
name: contract-review
description: extract, then review
steps:
  - name: extract
    agent: extractor
  - name: review
    agent: reviewer
"""


@pytest.fixture
async def gateway(tmp_path, monkeypatch):
    catalog = Catalog()
    server = MeshServer("fake-gateway", ServerSettings(), authenticate=False)
    for add_to_server, servicer in servicers(catalog):
        server.add_service(add_to_server, servicer)
    port = await server.start()
    home = tmp_path / "home"
    home.mkdir()
    credentials = {"gateway": f"127.0.0.1:{port}", "api_key": API_KEY, "principal": "user:dev"}
    (home / "credentials.json").write_text(json.dumps(credentials))
    monkeypatch.setenv("AIRSPACE_HOME", str(home))
    monkeypatch.delenv("AIRSPACE_GATEWAY", raising=False)
    monkeypatch.delenv("AIRSPACE_API_KEY", raising=False)
    (tmp_path / "review.yaml").write_text(WORKFLOW)
    monkeypatch.chdir(tmp_path)
    yield catalog
    await server.stop(0)


def shown(out: str, name: str) -> str:
    """The value of one `name  value` line of a show command."""
    return next(line for line in out.splitlines() if line.startswith(f"{name} "))[
        len(name) :
    ].strip()


@pytest.fixture
def airspace(capsys):
    """Runs the CLI in a thread (it blocks on gRPC) while the servers serve on this loop."""

    async def invoke(*argv: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(main, list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


async def test_workflow_apply_is_idempotent_and_shows_the_source(gateway, airspace):
    assert await airspace("workflows", "apply", "review.yaml") == (
        0,
        "contract-review@1 created\n",
        "",
    )
    code, out, _ = await airspace("workflows", "apply", "review.yaml")
    assert (code, out.strip()) == (
        0,
        "contract-review@1 unchanged (identical to the latest version)",
    )

    code, out, _ = await airspace("workflows", "list")
    [row] = [line for line in out.splitlines() if "contract-review" in line]
    assert row.split()[:4] == ["contract-review", "1", "sequential", "extractor,"]

    code, out, _ = await airspace("workflows", "show", "contract-review")
    assert (code, out) == (0, WORKFLOW)  # piped: exactly the source, ready to re-apply

    code, out, _ = await airspace("workflows", "show", "contract-review", "--json")
    assert json.loads(out)["spec"]["steps"][1]["agent"] == "reviewer"


async def test_invalid_workflow_prints_each_field_violation(gateway, airspace, tmp_path):
    (tmp_path / "bad.yaml").write_text("description: no name, no steps\n")
    code, out, err = await airspace("workflows", "apply", "bad.yaml")
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "error: INVALID_ARGUMENT: the workflow is invalid",
        "  - source.name: is required",
        "  - source.steps: needs at least one step",
    ]


async def test_agents_register_list_show_remove(gateway, airspace):
    code, out, _ = await airspace("agents", "register", "127.0.0.1:7101", "--name", "extractor")
    lines = out.strip().splitlines()
    assert (code, lines[0]) == (0, "registered extractor v1.2.0 at 127.0.0.1:7101")
    assert lines[-1] == "atc_credential-of-extractor"  # printed once, on a line of its own

    code, out, _ = await airspace("agents", "list")
    [row] = [line for line in out.splitlines() if "extractor" in line]
    assert row.split() == ["extractor", "1.2.0", "127.0.0.1:7101", "airspace", "echo", "pii"]

    code, out, _ = await airspace("agents", "show", "extractor")
    assert shown(out, "description") == "repeats what it is told"
    assert shown(out, "clearances") == "pii"

    assert (await airspace("agents", "remove", "extractor"))[:2] == (0, "removed extractor\n")
    code, _, err = await airspace("agents", "show", "extractor")
    assert (code, err.strip()) == (2, "error: NOT_FOUND: agent 'extractor' is not registered")

    code, _, err = await airspace("agents", "register", "no-port")
    assert code == 2 and "  - endpoint: expected HOST:PORT" in err


async def test_run_streams_each_event_and_ends_with_state_and_output(gateway, airspace):
    await airspace("workflows", "apply", "review.yaml")
    code, out, err = await airspace(
        "run", "contract-review", "--input", '{"email": "jane@example.com"}'
    )
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["+0.000s", "-", "-", "run", "QUEUED", "→", "RUNNING"]
    started = next(line for line in lines if "step extract started" in line)
    assert started.split()[1:3] == ["s0001-extract", "extractor"]
    assert any(
        "route next step: → review by pattern:sequential" in line and "s0002-review" in line
        for line in lines
    )
    assert any(
        "guardrail step.input: ALLOW PII_MASKED(pii.email); applied: mask email x1" in line
        for line in lines
    )
    assert any("step review completed in 120ms: review done" in line for line in lines)
    assert lines[-2].startswith("run run-1 COMPLETED after ")
    assert json.loads(lines[-1]) == {"summary": "all steps done"}


async def test_failed_run_exits_1_and_its_path_points_at_the_step(gateway, airspace):
    await airspace("workflows", "apply", "review.yaml")
    code, out, _ = await airspace("run", "contract-review", "--input", '{"fail": true}')
    assert code == 1
    assert "run run-1 FAILED" in out and "INTERNAL: the model crashed" in out
    # The stream ends with the run's failure after its last event: the CLI explains it.
    assert f"AGENT_INTERNAL: {explain(Reason.AGENT_INTERNAL).meaning}" in out
    assert f"to do: {explain(Reason.AGENT_INTERNAL).action}" in out

    code, out, _ = await airspace("runs", "watch", "run-1")
    assert code == 1
    lines = [line for line in out.splitlines() if line]
    assert lines[-5].endswith("run RUNNING → FAILED: AGENT_INTERNAL: the model crashed")
    assert lines[-4].startswith("run run-1 FAILED")
    assert lines[-2].startswith("AGENT_INTERNAL: ")

    code, out, _ = await airspace("runs", "show", "run-1")
    assert code == 0
    assert shown(out, "workflow") == "contract-review@1" and shown(out, "state") == "FAILED"
    assert "✓ step extract · agent extractor" in out
    assert "✗ step review · agent reviewer" in out
    assert (
        out.rstrip()
        .splitlines()[-1]
        .endswith(
            "✗ FAILED at step s0002-review (agent reviewer): AGENT_INTERNAL: the model crashed"
        )
    )


async def test_detached_run_then_list_show_watch(gateway, airspace):
    await airspace("workflows", "apply", "review.yaml")
    code, out, err = await airspace("run", "contract-review", "--detach", "--request-id", "r-1")
    assert (code, out) == (0, "run-1\n")
    assert "airspace runs watch run-1" in err
    # The same request id joins the same run instead of starting another.
    assert (await airspace("run", "contract-review", "--detach", "--request-id", "r-1"))[1] == out

    code, out, _ = await airspace("runs", "list", "--state", "completed")
    [row] = [line for line in out.splitlines() if "run-1" in line]
    assert row.split()[:4] == ["run-1", "contract-review@1", "COMPLETED", "user:dev"]
    code, out, _ = await airspace("runs", "list", "--json")
    assert [run["run_id"] for run in json.loads(out)] == ["run-1"]

    code, out, _ = await airspace("runs", "show", "run-1", "--json")
    document = json.loads(out)
    assert document["run"]["state"] == "RUN_STATE_COMPLETED"
    sequences = [int(event["sequence"]) for event in document["events"]]  # int64: JSON strings
    assert sequences == list(range(1, len(sequences) + 1))

    code, out, _ = await airspace("runs", "watch", "run-1", "--after", "7")
    assert code == 0
    assert "step extract" not in out and "output:" in out
    assert out.splitlines()[-2] == "run run-1 COMPLETED"  # no duration: the start was skipped


async def test_waiting_run_shows_live_path_is_approved_then_canceled(
    gateway, airspace, monkeypatch
):
    await airspace("workflows", "apply", "review.yaml")
    assert (await airspace("run", "contract-review", "--input", '{"hold": true}', "--detach"))[
        0
    ] == 0

    code, out, _ = await airspace("runs", "show", "run-1")
    assert code == 0 and "WAITING_APPROVAL" in out
    assert "waiting for approval ap-run-1 by role legal-approver: send the signed contract" in out

    monkeypatch.setenv("COLUMNS", "100")
    code, out, _ = await airspace("approvals", "list")
    [row] = [line for line in out.splitlines() if "ap-run-1" in line]
    assert row.split()[:3] == ["ap-run-1", "run-1", "legal-approver"]
    assert max(len(line) for line in out.splitlines()) <= 100
    code, out, _ = await airspace("approvals", "show", "ap-run-1")
    assert gateway.approvals["ap-run-1"].payload_hash in out

    # Any unique prefix names the approval.
    code, out, _ = await airspace("approvals", "approve", "ap-r", "--comment", "ok by legal")
    assert (code, out.strip()) == (0, "approval ap-run-1 APPROVED (run run-1)")
    assert gateway.approvals["ap-run-1"].comment == "ok by legal"
    code, _, err = await airspace("approvals", "reject", "ap-run-1")
    assert (code, err.strip()) == (
        2,
        "error: FAILED_PRECONDITION: already decided [ALREADY_DECIDED]",
    )

    code, out, _ = await airspace("runs", "cancel", "run-1", "--reason", "not needed")
    assert (code, out.strip()) == (0, "run run-1 is CANCELED")
    code, _, err = await airspace("runs", "cancel", "run-1")
    assert code == 2 and "the run has already ended [RUN_ENDED]" in err


async def test_an_action_approval_is_edited_with_new_data(gateway, airspace, tmp_path):
    await airspace("workflows", "apply", "review.yaml")
    code, out, _ = await airspace("run", "contract-review", "--input", '{"hold": true}', "--detach")
    approval = f"ap-{out.strip()}"
    code, _, err = await airspace("approvals", "edit", approval, "--text", "to legal")
    assert (code, err.strip()) == (
        2,
        "error: this approval is not an output: give the edit as --data",
    )
    edit = {"action": "send_contract", "to": "legal"}
    (tmp_path / "edit.json").write_text(json.dumps(edit))
    code, out, _ = await airspace("approvals", "edit", approval, "--data", "@edit.json")
    assert (code, out.strip()) == (0, f"approval {approval} EDITED (run {approval[3:]})")
    assert json_format.MessageToDict(gateway.approvals[approval].edited_payload) == edit


async def test_unknown_workflow_is_a_request_error(gateway, airspace):
    code, out, err = await airspace("run", "nope")
    assert (code, out) == (2, "")
    assert err.strip() == "error: NOT_FOUND: workflow 'nope' (version latest) not found"


async def test_wrong_api_key_is_rejected_with_a_hint(gateway, airspace, monkeypatch):
    monkeypatch.setenv("AIRSPACE_API_KEY", "ask_wrong")
    code, _, err = await airspace("workflows", "list")
    assert code == 2
    assert err.startswith("error: UNAUTHENTICATED: invalid or missing API key [INVALID_API_KEY]")
    assert "AIRSPACE_API_KEY" in err


async def test_unreachable_gateway_exits_3_and_suggests_airspace_up(
    airspace, tmp_path, monkeypatch
):
    monkeypatch.setenv("AIRSPACE_HOME", str(tmp_path))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{probe.getsockname()[1]}"
    code, out, err = await airspace("--gateway", closed, "runs", "list")
    assert (code, out) == (3, "")
    assert err.splitlines()[0] == f"error: cannot reach the gateway at {closed}"
    assert "airspace up" in err


async def test_ctrl_c_stops_watching_and_says_how_to_watch_again(gateway, airspace):
    await airspace("workflows", "apply", "review.yaml")
    cli = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "airspace.cli.main",
        "run",
        "contract-review",
        "--input",
        '{"hold": true}',
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    async for line in cli.stdout:  # the run now waits for a human, and so does the stream
        if b"WAITING_APPROVAL" in line:
            break
    cli.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(cli.communicate(), 20)
    assert cli.returncode == 130
    assert "run run-1 keeps going" in err.decode()
    assert "airspace runs watch run-1 --after 8" in err.decode()
    assert gateway.runs["run-1"].state == run_pb2.RUN_STATE_WAITING_APPROVAL
