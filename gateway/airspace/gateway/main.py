"""Starts the gateway: `python -m airspace.gateway.main` (settings: AIRSPACE_GATEWAY_*)."""

from airspace.gateway.admission import CallAdmission
from airspace.gateway.authn import Authenticator
from airspace.gateway.forwarder import Forwarder
from airspace.gateway.key_service import ApiKeyServicer
from airspace.gateway.settings import GatewaySettings
from airspace.mesh import channels, quotas, server, settings, telemetry
from airspace.policy.engine.pii.log_masking import mask_log_text
from airspace.v1 import (  # noqa: F401  (imported for their descriptors, served by reflection)
    admin_pb2,
    agent_registry_pb2,
    api_key_pb2_grpc,
    approval_pb2,
    memory_pb2,
    observability_pb2,
    run_pb2,
    workflow_pb2,
)

ROUTED_TO_ROUTER = (
    "airspace.v1.RunService",
    "airspace.v1.WorkflowService",
    "airspace.v1.AgentRegistryService",
    "airspace.v1.ApprovalService",
    "airspace.v1.TraceService",
    "airspace.v1.MemoryService",
    "airspace.v1.AdminService",
)
ROUTED_TO_POLICY = ("airspace.v1.AuditService",)


def build(config: GatewaySettings) -> server.MeshServer:
    authenticator = Authenticator(config)
    admission = CallAdmission(
        quotas.RateLimiter(quotas.load(config.quotas_file)),
        config.max_unary_in_flight,
        config.max_streams_in_flight,
    )
    # The gateway authenticates clients itself; the mesh interceptor must not ask for a mesh identity.
    srv = server.MeshServer("gateway", config, authenticate=False)
    # The gateway keeps the API keys, so it serves their management itself.
    srv.add_service(
        api_key_pb2_grpc.add_ApiKeyServiceServicer_to_server, ApiKeyServicer(authenticator)
    )
    # Any router can serve any call (runs live in state), so calls are spread over them all.
    upstreams = (
        (config.router_endpoint, ROUTED_TO_ROUTER, True),
        (config.policy_endpoint, ROUTED_TO_POLICY, False),
    )
    opened = []
    for endpoint, services, balanced in upstreams:
        channel = channels.open_channel(
            endpoint, config, default_timeout=config.unary_timeout_seconds, balanced=balanced
        )
        opened.append(channel)
        forwarder = Forwarder(config, authenticator, admission, channel)
        for service in services:
            srv.add_generic_handler(service, forwarder.handler(service))

    async def close_channels():
        for channel in opened:
            await channel.close()

    srv.on_stop(close_channels)
    return srv


def main() -> None:
    config = settings.from_command_line(GatewaySettings, "GATEWAY", __doc__)
    telemetry.setup_for("airspace-gateway", config)
    server.run(lambda: build(config), mask_logs=mask_log_text)


if __name__ == "__main__":
    main()
