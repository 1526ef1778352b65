"""The whole mesh on one machine: which processes, in which order, wired how.

State lives in SQLite under $AIRSPACE_HOME (default ./.airspace), or in the PostgreSQL
database a state URL names (`airspace up --state-url`). The first start
creates the mesh key, a developer API key and an approver's key, and writes
credentials.json so the CLI finds the gateway and the developer's key without typing
(the approver's is under "approver", for `AIRSPACE_API_KEY=… airspace approvals …`). Every process serves Prometheus
metrics on a port of its own (metrics_url).
"""

from __future__ import annotations

import json
import os
import pathlib
import secrets
import shutil

from airspace.cli.local_ca import LocalCa
from airspace.cli.processes import ManagedProcess, free_port
from airspace.gateway.api_keys import ApiKeyStore
from airspace.mesh import telemetry_credentials
from airspace.mesh.identity import Identity

DEVELOPER = Identity(principal="user:dev", tenant="default", roles=("admin", "operator", "auditor"))
# A second person: nobody approves their own runs, so the developer's runs need another key.
APPROVER = Identity(principal="user:approver", tenant="default", roles=("approver",))
SAMPLE_AGENTS = {
    "contract-extractor": "airspace.agents.samples.contract_extractor",
    "compliance-checker": "airspace.agents.samples.compliance_checker",
    "summary-writer": "airspace.agents.samples.summary_writer",
}
# The demo scenarios' agents, served together by one process (airspace.agents.samples.host).
HOSTED_AGENTS = (
    "billing-analyst",
    "usage-analyst",
    "support-history",
    "case-synthesizer",
    "ticket-triage",
    "billing-specialist",
    "compliance-specialist",
    "human-queue",
    "finance-reviewer",
    "legal-reviewer",
    "operations-reviewer",
    "planning-chair",
    "planning-lead",
)
AGENT_HOST = "sample-agents"


METRICS_PORT = "METRICS_PORT"
COLLECTOR = "tracing"


def metrics_url(process: ManagedProcess) -> str:
    """Where a started process serves its Prometheus metrics ("" for one that serves none)."""
    return f"http://127.0.0.1:{process.metrics_port}/metrics" if process.metrics_port else ""


NODE_AGENT = "risk-scorer"
NODE_AGENT_DIR = pathlib.Path(__file__).resolve().parents[3] / "agents" / "node"


def node_agent_available() -> bool:
    """The Node.js sample runs when node is installed and its packages are (`make setup` does it)."""
    return shutil.which("node") is not None and (NODE_AGENT_DIR / "node_modules").is_dir()


def home_dir(home: str | None) -> pathlib.Path:
    path = pathlib.Path(home or os.environ.get("AIRSPACE_HOME") or ".airspace").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret_file(path: pathlib.Path, make) -> pathlib.Path:
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path


def mesh_key(home: pathlib.Path) -> bytes:
    """The mesh's key, made at the first start."""
    return _secret_file(home / "mesh.key", lambda: secrets.token_hex(32)).read_bytes().strip()


def agent_telemetry_env(home: pathlib.Path, agent: str) -> dict[str, str]:
    """The telemetry credential of a sample agent registered in the developer's tenant, as
    the router issues it at registration (the agent starts before it is registered);
    HOSTED_AGENTS share one process, whose credential covers any agent of the tenant."""
    sender = telemetry_credentials.agent(DEVELOPER.tenant, agent)
    credential = telemetry_credentials.issue(mesh_key(home), sender)
    return {"AIRSPACE_AGENT_TELEMETRY_CREDENTIAL": credential}


def bootstrap(
    home: pathlib.Path,
    gateway: str,
    otlp_endpoint: str = "",
    certificates: LocalCa | None = None,
) -> dict:
    """Creates the mesh key, the developer's and the approver's credentials once; returns
    the credentials, with where the gateway and the collector's OTLP endpoint are now (and
    the CA to trust when the mesh serves TLS)."""
    mesh_key(home)
    credentials_file = home / "credentials.json"
    credentials = json.loads(credentials_file.read_text()) if credentials_file.exists() else {}
    if not credentials.get("api_key"):
        credentials = _person(home, DEVELOPER)
    if not credentials.get("approver"):
        credentials["approver"] = _person(home, APPROVER)
    credentials["gateway"] = gateway
    credentials.pop("tls_ca_file", None)
    if certificates is not None:
        credentials["tls_ca_file"] = str(certificates.ca)
    if otlp_endpoint:
        credentials["otlp_endpoint"] = otlp_endpoint
    credentials_file.write_text(json.dumps(credentials, indent=2))
    credentials_file.chmod(0o600)
    return credentials


def _person(home: pathlib.Path, who: Identity) -> dict:
    """A new API key for `who` in the gateway's key file, as credentials."""
    key = ApiKeyStore(home / "api_keys.json").create(who.principal, who.tenant, who.roles)
    return {"api_key": key, "principal": who.principal, "tenant": who.tenant}


def collector_address(processes: list[ManagedProcess]) -> str:
    """The trace collector's OTLP/gRPC endpoint in a plan: where agents outside the mesh
    send their spans to join a run's trace."""
    return next(p.address for p in processes if p.name == COLLECTOR)


def _distinct_ports(*taken: int):
    """Free ports, none twice nor one of `taken`: a probe's port is free again once
    closed, so two probes in a row may both be given it."""
    given = set(taken)

    def unused_port() -> int:
        port = free_port()
        while port in given:
            port = free_port()
        given.add(port)
        return port

    return unused_port


def waves(processes: list[ManagedProcess]) -> list[list[ManagedProcess]]:
    """The plan as groups started side by side, each once the one before is ready: state,
    policy and the collector need nothing; routers need them, and agents only the
    collector; the gateway needs the routers. Agents are registered once all are ready."""

    def wave(process: ManagedProcess) -> int:
        if process.name in ("state", "policy", COLLECTOR):
            return 0
        return 2 if process.name == "gateway" else 1

    grouped: dict[int, list[ManagedProcess]] = {}
    for process in processes:
        grouped.setdefault(wave(process), []).append(process)
    return [grouped[number] for number in sorted(grouped)]


def router_names(count: int) -> list[str]:
    """The router replicas' process names: "router" alone, router-1…router-N for several."""
    return ["router"] if count == 1 else [f"router-{index}" for index in range(1, count + 1)]


def plan(
    home: pathlib.Path,
    gateway_port: int,
    with_agents: bool = True,
    routers: int = 1,
    state_url: str = "",
    certificates: LocalCa | None = None,
) -> list[ManagedProcess]:
    """The processes of the mesh in start order, each on a port fixed up front; the gateway
    spreads router calls over the `routers` replicas, and the state service keeps its
    data in PostgreSQL when `state_url` names a database. With `certificates` every hop
    is TLS and every process proves itself with its service's certificate (mutual TLS),
    but the gateway's clients, who authenticate with API keys, need no certificate."""
    if routers < 1:
        raise ValueError(f"the mesh needs at least one router, not {routers}")

    def tls_env(service: str) -> dict[str, str]:
        return certificates.service(service).env() if certificates else {}

    common = {
        "AIRSPACE_DATA_DIR": str(home),
        "AIRSPACE_MESH_KEY_FILE": str(home / "mesh.key"),
        "PYTHONUNBUFFERED": "1",
    }
    logs = home / "logs"
    unused_port = _distinct_ports(gateway_port)
    ports = {name: unused_port() for name in ("state", "policy", COLLECTOR)}
    collector = f"127.0.0.1:{ports[COLLECTOR]}"

    def service(
        name: str, module: str, prefix: str, port: int, certified_as: str = "", **extra
    ) -> ManagedProcess:
        env = {
            **common,
            **tls_env(certified_as or name),
            f"AIRSPACE_{prefix}_PORT": str(port),
            # Fixed up front like the service's port: a restarted child serves its metrics
            # where `airspace up` said they are.
            f"AIRSPACE_{prefix}_{METRICS_PORT}": str(unused_port()),
            **extra,
        }
        return ManagedProcess(name, module, port, env, log_dir=logs)

    # Each replica names itself in run leases by host and process id (the default).
    replicas = [
        service(
            name,
            "airspace.router.main",
            "ROUTER",
            unused_port(),
            "router",
            AIRSPACE_ROUTER_STATE_ENDPOINT=f"127.0.0.1:{ports['state']}",
            AIRSPACE_ROUTER_POLICY_ENDPOINT=f"127.0.0.1:{ports['policy']}",
            AIRSPACE_ROUTER_TRACE_ENDPOINT=collector,
            AIRSPACE_ROUTER_OTLP_ENDPOINT=collector,
        )
        for name in router_names(routers)
    ]
    processes = [
        service(
            "state",
            "airspace.state.main",
            "STATE",
            ports["state"],
            **({"AIRSPACE_STATE_URL": state_url} if state_url else {}),
        ),
        service("policy", "airspace.policy.service.main", "POLICY", ports["policy"]),
        service(COLLECTOR, "airspace.tracing.main", "TRACE", ports[COLLECTOR], "collector"),
        *replicas,
        service(
            "gateway",
            "airspace.gateway.main",
            "GATEWAY",
            gateway_port,
            AIRSPACE_GATEWAY_ROUTER_ENDPOINT=",".join(router.address for router in replicas),
            AIRSPACE_GATEWAY_POLICY_ENDPOINT=f"127.0.0.1:{ports['policy']}",
            AIRSPACE_GATEWAY_OTLP_ENDPOINT=collector,
            AIRSPACE_GATEWAY_TLS_CLIENT_AUTH="0",
        ),
    ]
    if with_agents:
        if node_agent_available():
            port = unused_port()
            processes.append(
                ManagedProcess(
                    NODE_AGENT,
                    "",
                    port,
                    {
                        "AIRSPACE_AGENT_OTLP_ENDPOINT": collector,
                        **tls_env("agents"),
                        **agent_telemetry_env(home, NODE_AGENT),
                    },
                    log_dir=logs,
                    command=("node", str(NODE_AGENT_DIR / "index.js"), "--port", str(port)),
                    agents={NODE_AGENT: port},
                )
            )
        # Agents are not mesh members: no mesh key. Their folder holds the results they
        # answer retries from.
        agent_env = {
            "AIRSPACE_DATA_DIR": str(home / "agents"),
            "PYTHONUNBUFFERED": "1",
            "AIRSPACE_AGENT_OTLP_ENDPOINT": collector,
            **tls_env("agents"),
        }
        for name, module in SAMPLE_AGENTS.items():
            port = unused_port()
            processes.append(
                ManagedProcess(
                    name,
                    module,
                    port,
                    {
                        **agent_env,
                        f"AIRSPACE_AGENT_{METRICS_PORT}": str(unused_port()),
                        **agent_telemetry_env(home, name),
                    },
                    args=("--port", str(port)),
                    log_dir=logs,
                    agents={name: port},
                )
            )
        hosted = {name: unused_port() for name in HOSTED_AGENTS}
        processes.append(
            ManagedProcess(
                AGENT_HOST,
                "airspace.agents.samples.host",
                hosted[HOSTED_AGENTS[0]],
                {**agent_env, **agent_telemetry_env(home, telemetry_credentials.ANY_AGENT)},
                args=tuple(f"{name}={port}" for name, port in hosted.items()),
                log_dir=logs,
                agents=hosted,
            )
        )
    return processes
