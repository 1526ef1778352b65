"""Starts the A2A bridge: `python -m airspace.a2a_bridge.main` (settings: AIRSPACE_A2A_*)."""

from __future__ import annotations

from a2a.server.context import ServerCallContext
from a2a.server.request_handlers import DefaultRequestHandler, GrpcHandler
from a2a.server.tasks import InMemoryTaskStore
from a2a.types import a2a_pb2, a2a_pb2_grpc

from airspace.a2a_bridge.callers import CallerContextBuilder, authorization_of
from airspace.a2a_bridge.card import base_card, workflow_card
from airspace.a2a_bridge.executor import WorkflowExecutor
from airspace.a2a_bridge.gateway import GatewayClient
from airspace.a2a_bridge.settings import ENV_PREFIX, BridgeSettings
from airspace.mesh import errors, server, settings, telemetry
from airspace.policy.engine.pii.log_masking import mask_log_text


def build(config: BridgeSettings) -> server.MeshServer:
    """The bridge's server; call it inside the event loop that will run it."""
    if not config.workflow:
        raise errors.InvalidArgument(
            "the bridge serves one workflow: set AIRSPACE_A2A_WORKFLOW", field="workflow"
        )
    gateway = GatewayClient(config)
    # A2A callers are not mesh members; the gateway authenticates them on each run.
    srv = server.MeshServer("a2a-bridge", config, authenticate=False)
    base = base_card(config.workflow, config.public_address or config.address)

    async def full_card(card: a2a_pb2.AgentCard, call: ServerCallContext) -> a2a_pb2.AgentCard:
        found = await gateway.workflow(config.workflow, authorization_of(call))
        full = workflow_card(card, found)
        if not config.public_address:  # the port is known once serving
            full.supported_interfaces[0].url = f"{config.host}:{srv.port}"
        return full

    handler = DefaultRequestHandler(
        agent_executor=WorkflowExecutor(gateway, config.workflow),
        # Tasks mirror runs; the runs themselves are durable in the mesh.
        task_store=InMemoryTaskStore(),
        agent_card=base,
        extended_agent_card=base,
        extended_card_modifier=full_card,
    )
    srv.add_service(
        a2a_pb2_grpc.add_A2AServiceServicer_to_server, GrpcHandler(handler, CallerContextBuilder())
    )
    srv.on_stop(handler.aclose)
    srv.on_stop(gateway.close)
    return srv


def main() -> None:
    config = settings.from_command_line(BridgeSettings, ENV_PREFIX, __doc__)
    telemetry.setup_for("airspace-a2a-bridge", config)
    server.run(lambda: build(config), mask_logs=mask_log_text)


if __name__ == "__main__":
    main()
