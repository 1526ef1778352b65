"""The bridge's calls to the gateway, made with the A2A caller's own credentials."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from airspace.a2a_bridge.settings import BridgeSettings
from airspace.mesh import channels, errors
from airspace.v1 import run_pb2, run_pb2_grpc, workflow_pb2, workflow_pb2_grpc


class GatewayClient:
    def __init__(self, settings: BridgeSettings):
        self._settings = settings
        # The bridge is outside the mesh: the gateway authenticates each call by the
        # caller's authorization, never by a mesh identity.
        self._channel = channels.open_channel(
            settings.gateway_endpoint, settings, send_identity=False
        )
        self._runs = run_pb2_grpc.RunServiceStub(self._channel)
        self._workflows = workflow_pb2_grpc.WorkflowServiceStub(self._channel)

    async def workflow(self, name: str, authorization: str) -> workflow_pb2.Workflow:
        try:
            response = await self._workflows.GetWorkflow(
                workflow_pb2.GetWorkflowRequest(workflow=name), metadata=_credentials(authorization)
            )
        except grpc.aio.AioRpcError as exc:
            raise errors.from_rpc_error(exc) from exc
        return response.workflow

    def execute(
        self, request: run_pb2.ExecuteRunRequest, authorization: str
    ) -> AsyncIterator[run_pb2.RunEvent]:
        """The run's events until it ends; raises grpc.aio.AioRpcError when refused."""
        return self._runs.ExecuteRun(
            request,
            metadata=_credentials(authorization),
            timeout=self._settings.run_timeout_seconds,
        )

    async def cancel(self, run_id: str, reason: str, authorization: str) -> None:
        await self._runs.CancelRun(
            run_pb2.CancelRunRequest(
                run_id=run_id, reason=reason, request_id=f"a2a-cancel-{run_id}"
            ),
            metadata=_credentials(authorization),
        )

    async def close(self) -> None:
        await self._channel.close()


def _credentials(authorization: str) -> tuple:
    return (("authorization", authorization),) if authorization else ()
