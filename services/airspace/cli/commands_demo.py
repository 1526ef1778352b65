"""`airspace demo`: the local mesh, then the four scenarios run live through the gateway,
a person deciding where a run waits for one, and a readable account of each run.

The person is the approver `airspace up` creates, deciding with their own key: the
developer who starts the runs may never approve them.
"""

from __future__ import annotations

import json
import pathlib
import uuid

from google.protobuf import struct_pb2
from rich.table import Table
from rich.text import Text

from airspace.cli import args as cli_args
from airspace.cli import demo_scenarios, local_mesh, samples
from airspace.cli.commands_approvals import decide, decision_line, edited_payload
from airspace.cli.commands_runs import event_log
from airspace.cli.connection import Client, Target
from airspace.cli.events import live_line
from airspace.cli.output import FAILED, OK, console, format_duration, state_text
from airspace.cli.processes import DEFAULT_GATEWAY_PORT, free_port, port_free
from airspace.cli.run_account import account
from airspace.cli.supervisor import LocalMesh
from airspace.v1 import approval_pb2, run_pb2

# Said by the event log in the account; live, they would drown the path.
_QUIET = frozenset(
    {
        "guardrail_verdict",
        "agent_progress",
        "partial_output",
        "usage_reported",
        "transcript_message",
        "run_output",
    }
)
_OUTCOMES = {
    "approve": run_pb2.APPROVAL_OUTCOME_APPROVED,
    "reject": run_pb2.APPROVAL_OUTCOME_REJECTED,
    "edit": run_pb2.APPROVAL_OUTCOME_EDITED,
}


def register(sub) -> None:
    demo = cli_args.add_command(
        sub,
        "demo",
        "start the mesh, run the four sample scenarios live, tell what happened, shut down",
        examples="""
            airspace demo
            airspace demo --scenario support-escalation
        """,
    )
    demo.add_argument("--home", help="data folder (default ./.airspace/demo)")
    demo.add_argument(
        "--port",
        type=int,
        help=f"gateway port, 0 for any (default {DEFAULT_GATEWAY_PORT}, or any when it is busy)",
    )
    demo.add_argument(
        "--scenario",
        choices=[scenario.name for scenario in demo_scenarios.SCENARIOS],
        help="run only this scenario",
    )
    demo.set_defaults(handler=run_demo)


def run_demo(args) -> int:
    home = local_mesh.home_dir(args.home or str(pathlib.Path(".airspace") / "demo"))
    chosen = [demo_scenarios.by_name(args.scenario)] if args.scenario else demo_scenarios.SCENARIOS
    out = console()
    out.rule("[bold]Airspace demo")
    out.print(f"data in {home}; starting the mesh and the sample agents as separate processes")
    port = _gateway_port(args.port)
    results: list[tuple[str, run_pb2.Run]] = []
    with LocalMesh(home, port) as mesh, mesh.client() as client:
        approver = mesh.credentials["approver"]
        with Client(Target(mesh.gateway, approver["api_key"]), timeout=30.0) as person:
            for scenario in chosen:
                results += _scenario(client, person, approver["principal"], scenario)
    _summary(results, home)
    return OK if all(run.state == run_pb2.RUN_STATE_COMPLETED for _, run in results) else FAILED


def _gateway_port(asked: int | None) -> int:
    """The port asked for; by default 50051, unless it is busy (two demos at once, or a
    running `airspace up`): then any free one."""
    if asked is None:
        asked = DEFAULT_GATEWAY_PORT if port_free(DEFAULT_GATEWAY_PORT) else 0
    return asked or free_port()


def _scenario(
    client: Client, person: Client, who: str, scenario: demo_scenarios.Scenario
) -> list[tuple[str, run_pb2.Run]]:
    out = console()
    out.print()
    out.rule(f"[bold]{scenario.title}")
    out.print(Text(scenario.shows, style="italic"))
    finished = []
    for case in scenario.cases:
        out.print()
        out.print(Text.assemble(("▶ ", "bold"), f"{scenario.workflow} on ", (case.input, "bold")))
        run = _run_live(client, person, who, scenario.workflow, case)
        out.print()
        out.print(account(run, event_log(client, run)))
        finished.append((f"{scenario.name} · {case.input}", run))
    return finished


def _run_live(
    client: Client, person: Client, who: str, workflow: str, case: demo_scenarios.Case
) -> run_pb2.Run:
    """Runs the case, printing its events as they happen and deciding its approvals."""
    out = console()
    request = run_pb2.ExecuteRunRequest(
        workflow=workflow, input=_input(case.input), request_id=uuid.uuid4().hex
    )
    decisions = iter(case.decisions)
    run_id, origin = "", None
    for event in client.runs.ExecuteRun(request):
        run_id = event.run_id or run_id
        if origin is None:
            origin = event.time.ToMicroseconds() / 1e6
        if event.WhichOneof("kind") not in _QUIET:
            out.print(live_line(event, origin))
        if event.HasField("approval_requested"):
            decision = next(decisions, None)
            if decision is None:
                raise RuntimeError(f"{workflow} asked for an approval the demo did not expect")
            _act(person, who, event.approval_requested.approval_id, decision)
    return client.runs.GetRun(run_pb2.GetRunRequest(run_id=run_id)).run


def _act(person: Client, who: str, approval_id: str, decision: demo_scenarios.Decision) -> None:
    """The approver reads the approval and decides it, as `airspace approvals` would."""
    seen = person.approvals.GetApproval(
        approval_pb2.GetApprovalRequest(approval_id=approval_id)
    ).approval
    edited = edited_payload(seen, decision.text, None) if decision.verb == "edit" else None
    command = f'airspace approvals {decision.verb} {approval_id} --comment "{decision.comment}"'
    if decision.text is not None:
        command += f' --text "{decision.text}"'
    console().print(Text.assemble(("  👤 ", "bold"), (who, "bold yellow"), f" $ {command}"))
    decided = decide(person, seen, _OUTCOMES[decision.verb], decision.comment, edited)
    console().print(Text.assemble("     ", decision_line(decided)))


def _input(name: str) -> struct_pb2.Struct:
    """A sample input: a JSON object, or any other file as the input's text."""
    content = samples.sample_input(name).read_text()
    value = struct_pb2.Struct()
    value.update(json.loads(content) if name.endswith(".json") else {"text": content})
    return value


def _summary(results: list[tuple[str, run_pb2.Run]], home: pathlib.Path) -> None:
    out = console()
    out.print()
    out.rule("[bold]every run")
    table = Table("scenario · input", "run", "state", "took", "steps", box=None)
    for label, run in results:
        took = (run.end_time.ToMicroseconds() - run.create_time.ToMicroseconds()) / 1e6
        table.add_row(
            label, run.run_id, state_text(run.state), format_duration(took), str(run.usage.steps)
        )
    out.print(table)
    out.print(
        f"The mesh has stopped; its data stays in {home}. To look again: `airspace up --home "
        f"{home}` in one terminal, `export AIRSPACE_HOME={home}` in another, then the "
        'commands under "look next".'
    )
