"""A real mesh for benchmarks: the processes `airspace up` starts, plus the bench agents
(by default the step and branch agents, with the workflows that call them).

Every service is its own process (airspace.cli.local_mesh.plan); with tracing off no
process is given an OTLP endpoint, so spans are never exported.
"""

from __future__ import annotations

import concurrent.futures
import os
import pathlib
from collections.abc import Callable, Sequence
from typing import Protocol

import grpc

from airspace.cli import local_mesh
from airspace.cli.local_ca import LocalCa
from airspace.cli.processes import ManagedProcess, free_port, stop_all
from airspace.gateway.api_keys import ApiKeyStore
from airspace.mesh import identity
from airspace.v1 import (
    agent_registry_pb2,
    agent_registry_pb2_grpc,
    workflow_pb2,
    workflow_pb2_grpc,
)
from bench.agents import BRANCH_AGENTS, FAN_OUT_SOURCE, STEP_AGENTS, WORKFLOW_SOURCE

DEFAULT_AGENTS = (*STEP_AGENTS, *BRANCH_AGENTS)
DEFAULT_WORKFLOWS = (WORKFLOW_SOURCE, FAN_OUT_SOURCE)

ROOT = pathlib.Path(__file__).resolve().parents[1]
# The mesh's own processes (airspace.cli.local_mesh.plan), and those only called from inside.
SERVICES = ("gateway", "router", "state", "policy", "tracing")
INTERNAL_SERVICES = ("state", "policy", "tracing")
# Long enough for any benchmark; the token never leaves this machine.
IDENTITY_TTL_SECONDS = 3600


class BenchMesh:
    def __init__(
        self,
        home: pathlib.Path,
        *,
        tracing: bool,
        routers: int = 1,
        state_url: str = "",
        certificates: LocalCa | None = None,
        env: dict[str, str] | None = None,
        agents: Sequence[str] = DEFAULT_AGENTS,
        workflows: Sequence[str] = DEFAULT_WORKFLOWS,
    ):
        """`env` is added to every process's environment (e.g. a quotas file); `agents`
        (bench/agents.py) serve the `workflows` (their sources) install_workflow applies."""
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.tracing = tracing
        self.agents = tuple(agents)
        self.workflows = tuple(workflows)
        port = free_port()
        self.gateway = f"127.0.0.1:{port}"
        self.credentials = local_mesh.bootstrap(home, self.gateway, certificates=certificates)
        self.processes = local_mesh.plan(
            home,
            port,
            with_agents=False,
            routers=routers,
            state_url=state_url,
            certificates=certificates,
        )
        self._agent_env = certificates.service("agents").env() if certificates else {}
        self.processes += [self._agent(name) for name in self.agents]
        for process in self.processes:
            process.env.update(env or {})
            if not tracing:
                _without_tracing(process.env)

    def _process(self, name: str) -> ManagedProcess:
        return next(process for process in self.processes if process.name == name)

    def _agent(self, name: str) -> ManagedProcess:
        port = free_port()
        env = {
            **bench_module_env(),
            **self._agent_env,
            **local_mesh.agent_telemetry_env(self.home, name),
            "AIRSPACE_AGENT_OTLP_ENDPOINT": self._process("tracing").address,
            "AIRSPACE_DATA_DIR": str(self.home / "agents"),  # their result stores
        }
        return ManagedProcess(
            name,
            "bench.agents",
            port,
            env,
            args=("--name", name, "--port", str(port)),
            log_dir=self.home / "logs",
        )

    @property
    def router(self) -> str:
        return self._process("router").address

    def gateway_metadata(self, tenant: str = "") -> tuple[tuple[str, str], ...]:
        """The developer's API key, or (with `tenant`) a new operator key of that tenant."""
        key = self.credentials["api_key"]
        if tenant:
            keys = ApiKeyStore(self.home / "api_keys.json")
            key = keys.create(f"user:{tenant}", tenant, ("operator", "admin"))
        return (("authorization", f"Bearer {key}"),)

    def router_metadata(self) -> tuple[tuple[str, str], ...]:
        """The developer's identity signed with the mesh key, as the gateway would attach it."""
        key = (self.home / "mesh.key").read_bytes().strip()
        signed = identity.sign(local_mesh.DEVELOPER, key, IDENTITY_TTL_SECONDS)
        return ((identity.METADATA_KEY, signed),)

    def start(self) -> None:
        start_in_order(self.processes, stop_all)

    def stop(self) -> None:
        stop_all(self.processes)

    def pid(self, name: str) -> int:
        return self._process(name).pid

    def cpu_groups(self) -> dict[str, list[int]]:
        """The pids whose CPU a three-step run costs, by service; its agents as one."""
        groups = {name: [self._process(name).pid] for name in SERVICES}
        groups["agents"] = [self._process(name).pid for name in STEP_AGENTS]
        return groups

    def metrics_urls(self) -> list[str]:
        """Where the services that routers and gateways call serve their metrics."""
        return [self.metrics_url(name) for name in INTERNAL_SERVICES]

    def metrics_url(self, name: str) -> str:
        return local_mesh.metrics_url(self._process(name))

    async def install_workflow(
        self, channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...] = ()
    ) -> None:
        """Registers the bench agents and applies the bench workflows, through the gateway,
        in the developer's tenant or the one `metadata` authenticates."""
        metadata = metadata or self.gateway_metadata()
        registry = agent_registry_pb2_grpc.AgentRegistryServiceStub(channel)
        for name in self.agents:
            await registry.RegisterAgent(
                agent_registry_pb2.RegisterAgentRequest(
                    endpoint=self._process(name).address, agent=name
                ),
                metadata=metadata,
                timeout=30,
            )
        for source in self.workflows:
            await workflow_pb2_grpc.WorkflowServiceStub(channel).CreateWorkflow(
                workflow_pb2.CreateWorkflowRequest(source=source), metadata=metadata, timeout=30
            )


def _without_tracing(env: dict[str, str]) -> None:
    """Blank every OTLP endpoint (an empty value also hides one set in our own environment)."""
    for key in env:
        if key.endswith("_OTLP_ENDPOINT"):
            env[key] = ""
    env["AIRSPACE_OTLP_ENDPOINT"] = ""


def bench_module_env() -> dict[str, str]:
    """The environment of a child running a module of this package (bench is not installed)."""
    pythonpath = os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))
    return {"PYTHONUNBUFFERED": "1", "PYTHONPATH": pythonpath}


class Startable(Protocol):
    """Started and stopped as one: a process, a mesh, the floor."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def start_in_order(items: Sequence[Startable], undo: Callable[[list], None]) -> None:
    """Starts the items one after the other; on failure `undo` stops those already started.

    Not in worker threads: children die with the thread that started them (PDEATHSIG)."""
    started: list = []
    try:
        for item in items:
            item.start()
            started.append(item)
    except BaseException:
        undo(started)
        raise


def start_groups(groups: Sequence[Startable]) -> None:
    """Starts the groups one after the other; all or none end up running."""
    start_in_order(groups, stop_groups)


def stop_groups(groups: Sequence[Startable]) -> None:
    """Stops the groups side by side (stopping starts nothing, so threads are safe here)."""
    with concurrent.futures.ThreadPoolExecutor(max(1, len(groups))) as pool:
        for future in [pool.submit(group.stop) for group in groups]:
            future.result()
