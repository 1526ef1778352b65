"""`airspace demo`: the local mesh, the sample contract review run live, its path and
its trace, then everything shut down."""

from __future__ import annotations

import pathlib
import time
import uuid

import grpc
from google.protobuf import struct_pb2

from airspace.cli import args as cli_args
from airspace.cli import local_mesh, samples
from airspace.cli.commands_observe import print_trace
from airspace.cli.commands_runs import execute, print_run
from airspace.cli.connection import Client
from airspace.cli.output import console
from airspace.cli.processes import free_port
from airspace.cli.supervisor import LocalMesh
from airspace.v1 import observability_pb2, run_pb2

DEMO_WORKFLOW = "contract-review"


def register(sub) -> None:
    demo = cli_args.add_command(
        sub,
        "demo",
        "start the mesh, run the sample contract review live, show its path, shut down",
        examples="""
            airspace demo
        """,
    )
    demo.add_argument("--home", help="data folder (default ./.airspace/demo)")
    demo.set_defaults(handler=run_demo)


def run_demo(args) -> int:
    home = local_mesh.home_dir(args.home or str(pathlib.Path(".airspace") / "demo"))
    out = console()
    out.rule("[bold]Airspace demo")
    out.print(f"data in {home}; starting the mesh and the sample agents as separate processes")
    run_input = struct_pb2.Struct()
    run_input.update({"text": samples.contract().read_text()})
    with LocalMesh(home, free_port()) as mesh, mesh.client() as client:
        out.rule(f"running {DEMO_WORKFLOW} through the gateway")
        request = run_pb2.ExecuteRunRequest(
            workflow=DEMO_WORKFLOW, input=run_input, request_id=uuid.uuid4().hex
        )
        status = execute(client, request)
        runs = client.runs.ListRuns(
            run_pb2.ListRunsRequest(workflow=DEMO_WORKFLOW, page_size=1)
        ).runs
        run_id = runs[0].run_id
        # gateway, router and the three agents of the workflow
        _wait_for_trace(client, run_id, expected_services=2 + len(local_mesh.SAMPLE_AGENTS))
        out.rule("the path of the run")
        print_run(client, run_id)
        out.rule("its trace: gateway, router and agents in one trace")
        print_trace(client, run_id)
        if local_mesh.node_agent_available():
            out.rule(
                "a polyglot run: Python extracts, the Node.js agent scores risk, Python summarizes"
            )
            polyglot = run_pb2.ExecuteRunRequest(
                workflow="contract-risk", input=run_input, request_id=uuid.uuid4().hex
            )
            status = max(status, execute(client, polyglot))
    return status


def _wait_for_trace(
    client: Client, run_id: str, expected_services: int, patience: float = 5.0
) -> None:
    """Spans reach the collector in batches; wait until every traced service has reported."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        try:
            spans = client.traces.GetRunTrace(
                observability_pb2.GetRunTraceRequest(run_id=run_id)
            ).spans
        except grpc.RpcError:
            spans = []
        if len({span.service for span in spans}) >= expected_services:
            return
        time.sleep(0.25)
