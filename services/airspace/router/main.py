"""Starts the router: `python -m airspace.router.main` (settings: AIRSPACE_ROUTER_*)."""

from airspace.mesh import server, settings, telemetry
from airspace.router import memory_servicer, servicers
from airspace.router.agent_invoker import AgentInvoker
from airspace.router.agent_registry import AgentRegistry
from airspace.router.approval_gate import ApprovalGate
from airspace.router.approvals import Approvals
from airspace.router.clients import MeshClients
from airspace.router.executor import RunExecutor
from airspace.router.guard import Guard
from airspace.router.runs import Runs
from airspace.router.settings import RouterSettings
from airspace.router.step_runner import StepRunner
from airspace.router.workflows import Workflows
from airspace.v1 import (
    agent_registry_pb2_grpc,
    approval_pb2_grpc,
    observability_pb2_grpc,
    run_pb2_grpc,
    workflow_pb2_grpc,
)


def build(config: RouterSettings) -> server.MeshServer:
    """The router's server, wired to its dependencies; recovery starts with the server."""
    clients = MeshClients(config)
    guard = Guard(clients)
    invoker = AgentInvoker(config)
    runner = StepRunner(guard, invoker, ApprovalGate(clients), config.default_step_timeout_seconds)
    executor = RunExecutor(config, clients, runner)
    runs = Runs(clients, guard, executor)
    srv = server.MeshServer("router", config)
    srv.add_service(run_pb2_grpc.add_RunServiceServicer_to_server, servicers.RunServicer(runs))
    srv.add_service(
        workflow_pb2_grpc.add_WorkflowServiceServicer_to_server,
        servicers.WorkflowServicer(Workflows(clients, guard)),
    )
    srv.add_service(
        agent_registry_pb2_grpc.add_AgentRegistryServiceServicer_to_server,
        servicers.AgentRegistryServicer(AgentRegistry(clients, guard, invoker)),
    )
    srv.add_service(
        approval_pb2_grpc.add_ApprovalServiceServicer_to_server,
        servicers.ApprovalServicer(Approvals(clients, guard, executor)),
    )
    srv.add_service(
        observability_pb2_grpc.add_TraceServiceServicer_to_server,
        servicers.TraceServicer(runs, clients),
    )
    memory_servicer.register(srv, clients, guard)
    srv.on_start(executor.start_recovery)
    srv.on_stop(executor.shutdown)
    srv.on_stop(invoker.close)
    srv.on_stop(clients.close)
    return srv


def main() -> None:
    config = settings.load(RouterSettings, "ROUTER")
    telemetry.setup("airspace-router", config.otlp_endpoint)
    server.run(lambda: build(config))


if __name__ == "__main__":
    main()
