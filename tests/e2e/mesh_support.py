"""The whole mesh in-process over real gRPC on 127.0.0.1 port 0, with SQLite files in tmp_path.

Each service is the real server its main() builds; only the event loop is shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
from collections.abc import AsyncIterator

import grpc
from google.protobuf import struct_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from airspace.agents.kit import Agent, AgentSettings, Reply
from airspace.gateway import main as gateway_main
from airspace.gateway.api_keys import ApiKeyStore
from airspace.gateway.settings import GatewaySettings
from airspace.mesh import channels, telemetry, telemetry_credentials
from airspace.mesh.errors import status_details
from airspace.mesh.reasons import reason_of
from airspace.policy.service import main as policy_main
from airspace.policy.service.settings import PolicySettings
from airspace.router import main as router_main
from airspace.router.settings import RouterSettings
from airspace.state import main as state_main
from airspace.state.settings import StateSettings
from airspace.trace.v1 import trace_pb2_grpc
from airspace.tracing import collector
from airspace.tracing.settings import TraceSettings
from airspace.v1 import (
    agent_registry_pb2,
    agent_registry_pb2_grpc,
    approval_pb2_grpc,
    run_pb2,
    run_pb2_grpc,
    workflow_pb2,
    workflow_pb2_grpc,
)

# A two-step workflow of one agent that repeats its input (echo_agent).
ECHO = """
name: echo-twice
pattern: sequential
steps:
  - {name: first, agent: echo}
  - {name: second, agent: echo}
"""


def echo_agent(name: str = "echo") -> Agent:
    agent = Agent(name=name, version="1.0.0", description="Repeats its input")

    @agent.handler
    async def echo(task):
        return Reply(text=task.text or "empty", data={"seen": task.text})

    return agent


def text_input(text: str) -> struct_pb2.Struct:
    value = struct_pb2.Struct()
    value.update({"text": text})
    return value


OPERATOR = ("user:olivia", "acme", ("operator",))


class WhileActive(SpanProcessor):
    """Passes spans on while its test runs: the tracer provider is the process's, and
    outlives the test and its collector."""

    def __init__(self, inner: SpanProcessor):
        self.inner = inner
        self.active = True

    def on_end(self, span) -> None:
        if self.active:
            self.inner.on_end(span)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


@contextlib.asynccontextmanager
async def exporting_spans(
    mesh: Mesh,
) -> AsyncIterator[tuple[WhileActive, trace_pb2_grpc.TraceQueryServiceStub]]:
    """This process's spans (the in-process services') go to the mesh's collector while
    the block runs, as a mesh service's exporter sends them, credential included; yields
    the processor and a TraceQueryService stub of the collector."""
    collector = mesh.router_settings.trace_endpoint
    credential = telemetry_credentials.issue(mesh.key, telemetry_credentials.service("tests"))
    processor = WhileActive(
        BatchSpanProcessor(
            OTLPSpanExporter(
                endpoint=collector,
                insecure=True,
                headers=telemetry_credentials.export_headers(credential),
            ),
            schedule_delay_millis=50,
        )
    )
    telemetry.setup("mesh-tests").add_span_processor(processor)
    channel = channels.open_channel(
        collector, TraceSettings(mesh_key=mesh.key), as_identity=channels.mesh_identity("test")
    )
    try:
        yield processor, trace_pb2_grpc.TraceQueryServiceStub(channel)
    finally:
        processor.active = False
        await asyncio.to_thread(processor.inner.shutdown)  # the collector answers on this loop
        await channel.close()


@dataclasses.dataclass
class Client:
    """Stubs of the gateway's public services, authenticated as one principal."""

    channel: grpc.aio.Channel
    metadata: tuple

    def __post_init__(self):
        self.runs = run_pb2_grpc.RunServiceStub(self.channel)
        self.workflows = workflow_pb2_grpc.WorkflowServiceStub(self.channel)
        self.agents = agent_registry_pb2_grpc.AgentRegistryServiceStub(self.channel)
        self.approvals = approval_pb2_grpc.ApprovalServiceStub(self.channel)


class Mesh:
    def __init__(
        self,
        tmp_path,
        counted: frozenset[str] = frozenset(),
        *,
        policy: dict | None = None,
        router: dict | None = None,
        quotas_file: str = "",
        bundle=None,
    ):
        """`counted` names the services whose RPCs are counted in the process's metrics;
        `policy` and `router` are settings of those services; `quotas_file` the tenants'
        quotas the gateway and the router enforce; `bundle` the policy bundle file to load
        instead of the default one."""
        self.tmp_path = tmp_path
        self.counted = counted
        self.policy_settings = policy or {}
        self.router_overrides = router or {}
        self.quotas_file = quotas_file
        self.bundle = bundle
        self.key = secrets.token_hex(32).encode()
        self.servers = []
        self.channels = []
        self.keys = ApiKeyStore(tmp_path / "api_keys.json")
        self.gateway = ""
        self.router_settings: RouterSettings | None = None

    def base(self, name: str) -> dict:
        base = {"mesh_key": self.key, "data_dir": str(self.tmp_path / name), "grace_seconds": 0.2}
        if name in self.counted:
            base["metrics_port"] = 0  # counting RPCs comes with the metrics endpoint
        return base

    async def _start(self, srv) -> str:
        port = await srv.start()
        self.servers.append(srv)
        return f"127.0.0.1:{port}"

    async def start(self) -> None:
        state = await self._start(state_main.build_server(StateSettings(**self.base("state"))))
        bundle = {}
        if self.bundle is not None:
            bundle = {"bundle_dir": str(self.bundle.parent), "bundle_file": self.bundle.name}
        self.policy = policy_main.build_server(
            PolicySettings(**self.base("policy"), **bundle, **self.policy_settings)
        )
        policy = await self._start(self.policy)
        traces = await self._start(
            (await collector.build(TraceSettings(**self.base("traces")))).server
        )
        self.router_settings = RouterSettings(
            **self.base("router"),
            state_endpoint=state,
            policy_endpoint=policy,
            trace_endpoint=traces,
            recovery_interval_seconds=0.5,
            lease_seconds=3.0,
            quotas_file=self.quotas_file,
            **self.router_overrides,
        )
        self.router = router_main.build(self.router_settings)
        self.gateway = await self._gateway_to(await self._start(self.router))

    async def _gateway_to(self, router: str) -> str:
        assert self.router_settings is not None
        settings = GatewaySettings(
            **self.base("gateway"),
            port=0,
            router_endpoint=router,
            policy_endpoint=self.router_settings.policy_endpoint,
            api_keys_file=str(self.tmp_path / "api_keys.json"),
            quotas_file=self.quotas_file,
        )
        return await self._start(gateway_main.build(settings))

    async def add_replica(self, router_id: str) -> str:
        """Another router over the same services, behind a gateway of its own (whose
        address is returned): what one starts, the other executes only if it takes over."""
        assert self.router_settings is not None
        settings = dataclasses.replace(self.router_settings, port=0, router_id=router_id)
        return await self._gateway_to(await self._start(router_main.build(settings)))

    def client(
        self, principal="user:olivia", tenant="acme", roles=("operator",), gateway: str = ""
    ) -> Client:
        """A client of the mesh's gateway, or of the gateway at `gateway`."""
        key = self.keys.create(principal, tenant, roles)
        channel = grpc.aio.insecure_channel(gateway or self.gateway)
        self.channels.append(channel)
        return Client(channel, (("authorization", f"Bearer {key}"),))

    async def restart_router(self) -> None:
        """A new router process in place of the old one, on the same port (the gateway
        reconnects): the old one stops without finishing its runs."""
        await self.router.stop(0)
        self.servers.remove(self.router)
        settings = dataclasses.replace(
            self.router_settings, port=self.router.port, router_id="router-2"
        )
        self.router = router_main.build(settings)
        await self._start(self.router)

    async def serve_agent(self, agent: Agent) -> str:
        settings = AgentSettings(port=0, grace_seconds=0.2, data_dir=str(self.tmp_path / "agents"))
        return await self._start(agent.build_server(settings))

    async def stop(self) -> None:
        for channel in self.channels:
            await channel.close()
        for srv in reversed(self.servers):
            await srv.stop(0.2)


async def register(client: Client, endpoint: str) -> agent_registry_pb2.Agent:
    response = await client.agents.RegisterAgent(
        agent_registry_pb2.RegisterAgentRequest(endpoint=endpoint), metadata=client.metadata
    )
    return response.agent


async def apply(client: Client, source: str) -> workflow_pb2.Workflow:
    response = await client.workflows.CreateWorkflow(
        workflow_pb2.CreateWorkflowRequest(source=source), metadata=client.metadata
    )
    return response.workflow


# The status that ends the streams of a run that did not complete, by its final state.
ENDING_CODES = {
    run_pb2.RUN_STATE_FAILED: grpc.StatusCode.ABORTED,
    run_pb2.RUN_STATE_CANCELED: grpc.StatusCode.CANCELLED,
}


async def collect_events(stream) -> list:
    """Every event of a stream following a run. A run that failed or was canceled ends the
    stream with a status of its own after its last event; that status is checked against
    the run's last event here, so every test of such a run checks it too."""
    events: list = []
    try:
        async for event in stream:
            events.append(event)
    except grpc.aio.AioRpcError as error:
        check_run_ending(error, events)
    return events


def check_run_ending(error: grpc.aio.AioRpcError, events: list) -> None:
    """Re-raises `error` unless it is the end of the run whose last events are `events`:
    ABORTED for FAILED, CANCELLED for CANCELED, with the run's reason and name."""
    changes = [e for e in events if e.HasField("run_state_changed")]
    if not changes or changes[-1].run_state_changed.to not in ENDING_CODES:
        raise error
    last = changes[-1]
    assert events[-1].sequence == last.sequence, "the run's end is its last event"
    assert error.code() == ENDING_CODES[last.run_state_changed.to], error
    info = error_info(error)
    assert info.metadata["run"] == f"runs/{last.run_id}"
    assert info.reason == (reason_of(last.run_state_changed.error) or error.code().name)


async def wait_for_approvals(client: Client, count: int = 1, attempts: int = 200) -> list:
    """Pending approvals the client may see, once there are `count` of them."""
    import asyncio

    from airspace.v1 import approval_pb2

    for _ in range(attempts):
        pending = (
            await client.approvals.ListApprovals(
                approval_pb2.ListApprovalsRequest(), metadata=client.metadata
            )
        ).approvals
        if len(pending) >= count:
            return list(pending)
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} pending approval(s)")


def error_info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    """The google.rpc.ErrorInfo detail of an error (every error of the mesh has one)."""
    [info] = [d for d in status_details(error) if isinstance(d, error_details_pb2.ErrorInfo)]
    return info


def violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    """The field violations of an error's google.rpc.BadRequest detail, by field."""
    found = {}
    for detail in rpc_status.from_call(error).details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            found.update({v.field: v.description for v in bad.field_violations})
    return found
