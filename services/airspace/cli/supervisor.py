"""`airspace up`: the whole mesh and the sample agents on this machine, restarted if they die."""

from __future__ import annotations

import os
import pathlib
import signal
import time

import grpc
from google.rpc import error_details_pb2
from rich.table import Table

from airspace.cli import args as cli_args
from airspace.cli import local_ca, local_mesh, samples
from airspace.cli.connection import Client, Target
from airspace.cli.output import console
from airspace.cli.processes import DEFAULT_GATEWAY_PORT, ManagedProcess, port_free, stop_all
from airspace.cli.watchdog import Watchdog
from airspace.mesh import database_urls
from airspace.mesh.errors import status_details
from airspace.v1 import agent_registry_pb2, workflow_pb2


def register(sub) -> None:
    up = cli_args.add_command(
        sub,
        "up",
        "run the mesh and the sample agents in the foreground until Ctrl-C",
        examples="""
            airspace up                  gateway on 127.0.0.1:50051, data in ./.airspace
            airspace up --port 6000 --home /tmp/airspace
            airspace up --state-url postgresql://postgres@127.0.0.1:5432/airspace
            airspace up --routers 2      two router replicas sharing the runs
            airspace up --tls            TLS on every hop, mutual TLS inside the mesh
        """,
    )
    up.add_argument(
        "--port",
        type=int,
        default=DEFAULT_GATEWAY_PORT,
        help=f"gateway port (default {DEFAULT_GATEWAY_PORT})",
    )
    up.add_argument("--home", help="data folder (default $AIRSPACE_HOME or ./.airspace)")
    up.add_argument(
        "--routers",
        type=cli_args.count,
        default=1,
        help="router replicas; the gateway spreads calls over them (default 1)",
    )
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
    up.add_argument(
        "--tls",
        action="store_true",
        help="serve TLS everywhere and mutual TLS between the mesh's processes, with a local "
        "CA and certificates made under <home>/tls (the CLI trusts it via credentials.json)",
    )
    up.set_defaults(handler=run_up)


class LocalMesh:
    """Starts the planned processes, registers the samples, and stops everything on exit."""

    def __init__(
        self,
        home: pathlib.Path,
        port: int,
        with_agents: bool = True,
        routers: int = 1,
        state_url: str = "",
        tls: bool = False,
    ):
        self.home = home
        self.gateway = f"127.0.0.1:{port}"
        certificates = local_ca.ensure(home / "tls") if tls else None
        self.processes = local_mesh.plan(home, port, with_agents, routers, state_url, certificates)
        self.otlp_endpoint = local_mesh.collector_address(self.processes)
        self.credentials = local_mesh.bootstrap(
            home, self.gateway, self.otlp_endpoint, certificates
        )
        self.out = console()

    def __enter__(self) -> LocalMesh:
        started: list[ManagedProcess] = []
        try:
            for wave in local_mesh.waves(self.processes):
                with self.out.status(f"starting {', '.join(p.name for p in wave)}…"):
                    for process in wave:
                        process.spawn()
                        started.append(process)
                    for process in wave:
                        process.wait_ready()
                        self._started(process)
            self._register_samples()
        except BaseException:
            stop_all(started)
            raise
        return self

    def _started(self, process: ManagedProcess) -> None:
        metrics = local_mesh.metrics_url(process)
        self.out.print(
            f"  [green]✓[/] {process.name:<20} {process.address}"
            + (f"  [dim]metrics {metrics}[/]" if metrics else "")
        )

    def __exit__(self, *exc) -> None:
        with self.out.status("stopping the mesh…"):
            stop_all(self.processes)
        self.out.print("[dim]mesh stopped; every process exited[/]")

    def client(self) -> Client:
        target = Target(
            self.gateway,
            self.credentials["api_key"],
            tls_ca_file=self.credentials.get("tls_ca_file", ""),
        )
        return Client(target, timeout=30.0)

    def _register_samples(self) -> None:
        agents = {name: port for p in self.processes for name, port in p.agents.items()}
        with self.client() as client:
            for name, port in agents.items():
                client.agents.RegisterAgent(
                    agent_registry_pb2.RegisterAgentRequest(
                        endpoint=f"127.0.0.1:{port}", agent=name
                    )
                )
            if not agents:
                return
            for path in samples.workflows():
                request = workflow_pb2.CreateWorkflowRequest(source=path.read_text())
                try:
                    applied = client.workflows.CreateWorkflow(request).workflow
                except grpc.RpcError as error:
                    # A sample whose agents did not start here (the Node.js one without npm).
                    problems = _unknown_agents(error)
                    if not problems:
                        raise
                    self.out.print(
                        f"  [yellow]–[/] workflow {path.name} skipped: {'; '.join(problems)}"
                    )
                    continue
                self.out.print(f"  [green]✓[/] workflow {applied.workflow}@{applied.version}")

    def watch(self) -> None:
        """Restarts a process that died or an agent that stopped answering its health
        check (see watchdog.py), until Ctrl-C or SIGTERM."""
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        agent_processes = {process.name for process in self.processes if process.agents}
        watchdog = Watchdog(self.processes, agent_processes, self.out)
        while True:
            time.sleep(1.0)
            watchdog.check()


def run_up(args) -> int:
    if not port_free(args.port):
        raise SystemExit(
            f"port {args.port} is in use: is `airspace up` already running? Choose another with --port"
        )
    state_url = args.state_url or os.environ.get("AIRSPACE_STATE_URL", "")
    if state_url and not database_urls.is_postgres(state_url):
        raise SystemExit(
            f"--state-url must be a postgresql:// URL, not {database_urls.redacted(state_url)}"
        )
    home = local_mesh.home_dir(args.home)
    out = console()
    out.print(f"[bold]Airspace[/] — data in {home}")
    with LocalMesh(
        home,
        args.port,
        with_agents=not args.no_agents,
        routers=args.routers,
        state_url=state_url,
        tls=args.tls,
    ) as mesh:
        table = Table(show_header=False, box=None)
        table.add_row("gateway", mesh.gateway + ("  (TLS)" if args.tls else ""))
        table.add_row(
            "state", database_urls.redacted(state_url) if state_url else "SQLite, state.db"
        )
        table.add_row(
            "OTLP/gRPC",
            f"{mesh.otlp_endpoint}  (spans of agents outside the mesh; also in credentials)",
        )
        table.add_row("credentials", str(home / "credentials.json"))
        table.add_row(
            "approver", f'{local_mesh.APPROVER.principal}: its key is under "approver" there'
        )
        if args.tls:
            table.add_row("TLS CA", mesh.credentials["tls_ca_file"])
        table.add_row("logs", str(home / "logs"))
        out.print(table)
        out.print(
            f"ready — try `airspace run contract-review --input @{samples.contract()}`; "
            "Ctrl-C stops"
        )
        try:
            mesh.watch()
        except KeyboardInterrupt:
            out.print()
    return 0


def _unknown_agents(error: grpc.RpcError) -> list[str]:
    """Each problem of a workflow refused for naming unregistered agents (none when it was
    refused for anything else)."""
    details = status_details(error)
    if not any(
        isinstance(d, error_details_pb2.ErrorInfo) and d.reason == "UNKNOWN_AGENT" for d in details
    ):
        return []
    return [
        violation.description
        for d in details
        if isinstance(d, error_details_pb2.BadRequest)
        for violation in d.field_violations
    ]
