"""`airspace up` and `airspace demo`: the whole mesh and the sample agents on this machine."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import socket
import time
import uuid

import grpc
from rich.table import Table

from airspace.cli import args as cli_args
from airspace.cli import local_mesh
from airspace.cli.connection import Client, Target
from airspace.cli.output import console
from airspace.cli.processes import ManagedProcess, free_port, stop_all
from airspace.router import spec
from airspace.state import location
from airspace.v1 import agent_registry_pb2, observability_pb2, run_pb2, workflow_pb2

WORKFLOWS_DIR = pathlib.Path(__file__).resolve().parents[3] / "workflows"
SAMPLE_CONTRACT = (
    pathlib.Path(__file__).resolve().parents[3] / "agents" / "samples" / "data" / "msa.txt"
)
DEMO_WORKFLOW = "contract-review"
MAX_RESTARTS = 5


def add_commands(sub) -> None:
    up = cli_args.add_command(
        sub,
        "up",
        "run the mesh and the sample agents in the foreground until Ctrl-C",
        examples="""
            airspace up                  gateway on 127.0.0.1:50051, data in ./.airspace
            airspace up --port 6000 --home /tmp/airspace
            airspace up --state-url postgresql://postgres@127.0.0.1:5432/airspace
        """,
    )
    up.add_argument("--port", type=int, default=50051, help="gateway port (default 50051)")
    up.add_argument("--home", help="data folder (default $AIRSPACE_HOME or ./.airspace)")
    up.add_argument(
        "--no-agents", action="store_true", help="start the mesh without the sample agents"
    )
    up.add_argument(
        "--state-url",
        default="",
        metavar="URL",
        help="keep state in this PostgreSQL database (default $AIRSPACE_STATE_URL, else "
        "SQLite in the data folder)",
    )
    up.set_defaults(handler=run_up)
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


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class LocalMesh:
    """Starts the planned processes, registers the samples, and stops everything on exit."""

    def __init__(
        self, home: pathlib.Path, port: int, with_agents: bool = True, state_url: str = ""
    ):
        self.home = home
        self.gateway = f"127.0.0.1:{port}"
        self.credentials = local_mesh.bootstrap(home, self.gateway)
        self.processes = local_mesh.plan(home, port, with_agents, state_url)
        self.out = console()

    def __enter__(self) -> LocalMesh:
        started: list[ManagedProcess] = []
        try:
            for process in self.processes:
                with self.out.status(f"starting {process.name}…"):
                    process.start()
                started.append(process)
                metrics = local_mesh.metrics_url(process)
                self.out.print(
                    f"  [green]✓[/] {process.name:<20} {process.address}"
                    + (f"  [dim]metrics {metrics}[/]" if metrics else "")
                )
            self._register_samples()
        except BaseException:
            stop_all(started)
            raise
        return self

    def __exit__(self, *exc) -> None:
        with self.out.status("stopping the mesh…"):
            stop_all(self.processes)
        self.out.print("[dim]mesh stopped; every process exited[/]")

    def client(self) -> Client:
        return Client(Target(self.gateway, self.credentials["api_key"]), timeout=30.0)

    def _register_samples(self) -> None:
        names = {*local_mesh.SAMPLE_AGENTS, local_mesh.NODE_AGENT}
        agents = [p for p in self.processes if p.name in names]
        with self.client() as client:
            for agent in agents:
                client.agents.RegisterAgent(
                    agent_registry_pb2.RegisterAgentRequest(
                        endpoint=agent.address, agent=agent.name
                    )
                )
            if not agents:
                return
            for path in sorted(WORKFLOWS_DIR.glob("*.yaml")):
                source = path.read_text()
                missing = sorted(
                    set(spec.validate(spec.parse_source(source)).agents) - {a.name for a in agents}
                )
                if missing:
                    self.out.print(
                        f"  [yellow]–[/] workflow {path.name} skipped: needs {', '.join(missing)}"
                    )
                    continue
                applied = client.workflows.CreateWorkflow(
                    workflow_pb2.CreateWorkflowRequest(source=source)
                ).workflow
                self.out.print(f"  [green]✓[/] workflow {applied.workflow}@{applied.version}")

    def watch(self) -> None:
        """Restarts a process that died, until Ctrl-C or SIGTERM."""
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        while True:
            time.sleep(1.0)
            for process in self.processes:
                if process.alive():
                    continue
                if process.restarts >= MAX_RESTARTS:
                    raise SystemExit(f"{process.name} keeps dying; see {process.log_path}")
                process.restarts += 1
                self.out.print(
                    f"[yellow]{process.name} exited; restarting (see {process.log_path})[/]"
                )
                process.start()


def run_up(args) -> int:
    if not _port_free(args.port):
        raise SystemExit(
            f"port {args.port} is in use: is `airspace up` already running? Choose another with --port"
        )
    state_url = args.state_url or os.environ.get("AIRSPACE_STATE_URL", "")
    if state_url and not location.is_postgres(state_url):
        raise SystemExit(
            f"--state-url must be a postgresql:// URL, not {location.redacted(state_url)}"
        )
    home = local_mesh.home_dir(args.home)
    out = console()
    out.print(f"[bold]Airspace[/] — data in {home}")
    with LocalMesh(home, args.port, with_agents=not args.no_agents, state_url=state_url) as mesh:
        table = Table(show_header=False, box=None)
        table.add_row("gateway", mesh.gateway)
        table.add_row("state", location.redacted(state_url) if state_url else "SQLite, state.db")
        table.add_row("credentials", str(home / "credentials.json"))
        table.add_row("logs", str(home / "logs"))
        out.print(table)
        out.print(
            "ready — try `airspace run contract-review --input @agents/airspace/agents/samples/data/msa.txt`; Ctrl-C stops"
        )
        try:
            mesh.watch()
        except KeyboardInterrupt:
            out.print()
    return 0


def run_demo(args) -> int:
    home = local_mesh.home_dir(args.home or str(pathlib.Path(".airspace") / "demo"))
    out = console()
    out.rule("[bold]Airspace demo")
    out.print(f"data in {home}; starting the mesh and the sample agents as separate processes")
    from airspace.cli import main  # here, not at the top: main imports this module

    with LocalMesh(home, free_port()) as mesh:
        run_input = home / "contract-review-input.json"
        run_input.write_text(json.dumps({"text": SAMPLE_CONTRACT.read_text()}))
        out.rule(f"running {DEMO_WORKFLOW} through the gateway")
        base = ["--gateway", mesh.gateway]
        os.environ["AIRSPACE_API_KEY"] = mesh.credentials["api_key"]
        request_id = uuid.uuid4().hex
        status = main.main(
            [*base, "run", DEMO_WORKFLOW, "--input", f"@{run_input}", "--request-id", request_id]
        )
        with mesh.client() as client:
            runs = client.runs.ListRuns(
                run_pb2.ListRunsRequest(workflow=DEMO_WORKFLOW, page_size=1)
            ).runs
            run_id = runs[0].run_id
            # gateway, router and the three agents of the workflow
            _wait_for_trace(client, run_id, expected_services=2 + len(local_mesh.SAMPLE_AGENTS))
        out.rule("the path of the run")
        main.main([*base, "runs", "show", run_id])
        out.rule("its trace: gateway, router and agents in one trace")
        main.main([*base, "trace", run_id])
        if local_mesh.node_agent_available():
            out.rule(
                "a polyglot run: Python extracts, the Node.js agent scores risk, Python summarizes"
            )
            status = max(
                status, main.main([*base, "run", "contract-risk", "--input", f"@{run_input}"])
            )
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
