"""Starts the router: `python -m airspace.router.main` (settings: AIRSPACE_ROUTER_*)."""

from airspace.mesh import server, settings, telemetry
from airspace.policy.engine.pii.log_masking import mask_log_text
from airspace.router import memory_servicer, servicers
from airspace.router.agent_invoker import AgentInvoker
from airspace.router.agent_registry import AgentRegistry
from airspace.router.approval_gate import ApprovalGate
from airspace.router.approvals import Approvals
from airspace.router.executor import RunExecutor
from airspace.router.guard import Guard
from airspace.router.reader_view import ReaderView
from airspace.router.repositories.grpc_repositories import MeshRepositories
from airspace.router.runs import Runs
from airspace.router.settings import RouterSettings
from airspace.router.spec.compiled import CompiledSpecs
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
    mesh = MeshRepositories(config)
    repositories = mesh.repositories
    guard = Guard(repositories.policy)
    invoker = AgentInvoker(config, config.max_calls_per_agent)
    gate = ApprovalGate(repositories.approvals)
    runner = StepRunner(guard, invoker, gate, config.default_step_timeout_seconds)
    specs = CompiledSpecs()  # one spec per workflow version, shared by its runs
    executor = RunExecutor(config, repositories, runner, specs)
    runs = Runs(repositories, guard, executor, specs)
    view = ReaderView(guard)
    srv = server.MeshServer("router", config)
    srv.add_service(
        run_pb2_grpc.add_RunServiceServicer_to_server, servicers.RunServicer(runs, view)
    )
    srv.add_service(
        workflow_pb2_grpc.add_WorkflowServiceServicer_to_server,
        servicers.WorkflowServicer(Workflows(repositories.workflows, repositories.agents, guard)),
    )
    srv.add_service(
        agent_registry_pb2_grpc.add_AgentRegistryServiceServicer_to_server,
        servicers.AgentRegistryServicer(
            AgentRegistry(repositories.agents, guard, invoker, config.mesh_key)
        ),
    )
    srv.add_service(
        approval_pb2_grpc.add_ApprovalServiceServicer_to_server,
        servicers.ApprovalServicer(Approvals(repositories, guard, executor), view),
    )
    srv.add_service(
        observability_pb2_grpc.add_TraceServiceServicer_to_server,
        servicers.TraceServicer(runs, repositories.traces, view),
    )
    memory_servicer.register(srv, repositories, guard)
    srv.on_start(mesh.start)  # the bundle stream, before runs resume
    srv.on_start(executor.start_recovery)
    srv.on_stop(executor.shutdown)
    srv.on_stop(invoker.close)
    srv.on_stop(mesh.close)
    return srv


def main() -> None:
    config = settings.from_command_line(RouterSettings, "ROUTER", __doc__)
    telemetry.setup_for("airspace-router", config)
    server.run(lambda: build(config), mask_logs=mask_log_text)


if __name__ == "__main__":
    main()
