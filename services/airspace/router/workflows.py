"""Workflow definitions: validated, checked against the registry, stored as immutable versions."""

from __future__ import annotations

from airspace.mesh import errors
from airspace.router.clients import MeshClients, call
from airspace.router.convert import to_dict, to_struct
from airspace.router.guard import Guard
from airspace.router.reasons import Reason
from airspace.router.spec import parse_source, validate
from airspace.state.v1 import state_pb2
from airspace.v1 import workflow_pb2

MAX_SOURCE_BYTES = 256 * 1024


class Workflows:
    def __init__(self, clients: MeshClients, guard: Guard):
        self._clients = clients
        self._guard = guard

    async def create(
        self, request: workflow_pb2.CreateWorkflowRequest
    ) -> workflow_pb2.CreateWorkflowResponse:
        document_kind = request.WhichOneof("document")
        if document_kind is None:
            raise errors.InvalidArgument(
                "a workflow document is required in source or spec", field="source"
            )
        if document_kind == "source":
            if len(request.source.encode()) > MAX_SOURCE_BYTES:
                raise errors.InvalidArgument(
                    f"source is larger than {MAX_SOURCE_BYTES} bytes", field="source"
                )
            document = parse_source(request.source)
            source = request.source
        else:
            document = to_dict(request.spec)
            source = ""
        spec = validate(document)
        caller = await self._guard.authorize("workflow.write", "workflow", spec.name)
        await self._check_agents(caller.tenant, spec)
        workflow = workflow_pb2.Workflow(
            workflow=spec.name,
            description=spec.description,
            pattern=workflow_pb2.Pattern.Value(f"PATTERN_{spec.pattern.upper()}"),
            agents=spec.agents,
            spec=to_struct(spec.document),
            source=source,
            etag=spec.etag,
            tenant=caller.tenant,
            created_by=caller.principal,
        )
        if request.validate_only:
            return workflow_pb2.CreateWorkflowResponse(workflow=workflow, created=False)
        stored = await call(
            self._clients.state.PutWorkflow, state_pb2.PutWorkflowRequest(workflow=workflow)
        )
        return workflow_pb2.CreateWorkflowResponse(workflow=stored.workflow, created=stored.created)

    async def _check_agents(self, tenant: str, spec) -> None:
        violations = [
            (path, f"unknown agent {agent!r}: register it first")
            for path, agent in spec.agent_refs
            if not await self._registered(tenant, agent)
        ]
        if violations:
            problems = "; ".join(f"{path}: {message}" for path, message in violations)
            raise errors.InvalidArgument(
                f"invalid workflow: {problems}", violations=violations, reason=Reason.UNKNOWN_AGENT
            )

    async def _registered(self, tenant: str, agent: str) -> bool:
        try:
            await call(
                self._clients.state.GetAgent, state_pb2.GetAgentRequest(tenant=tenant, agent=agent)
            )
        except errors.NotFound:
            return False
        return True

    async def get(self, request: workflow_pb2.GetWorkflowRequest) -> workflow_pb2.Workflow:
        if not request.workflow:
            raise errors.InvalidArgument("workflow is required", field="workflow")
        tenant = (await self._guard.authorize("workflow.read", "workflow", request.workflow)).tenant
        response = await call(
            self._clients.state.GetWorkflow,
            state_pb2.GetWorkflowRequest(
                tenant=tenant, workflow=request.workflow, version=request.version
            ),
        )
        return response.workflow

    async def list(
        self, request: workflow_pb2.ListWorkflowsRequest
    ) -> workflow_pb2.ListWorkflowsResponse:
        tenant = (await self._guard.authorize("workflow.read", "workflow")).tenant
        response = await call(
            self._clients.state.ListWorkflows,
            state_pb2.ListWorkflowsRequest(
                tenant=tenant, page_size=request.page_size, page_token=request.page_token
            ),
        )
        return workflow_pb2.ListWorkflowsResponse(
            workflows=response.workflows, next_page_token=response.next_page_token
        )

    async def delete(self, request: workflow_pb2.DeleteWorkflowRequest) -> None:
        if not request.workflow:
            raise errors.InvalidArgument("workflow is required", field="workflow")
        caller = await self._guard.authorize("workflow.write", "workflow", request.workflow)
        await call(
            self._clients.state.DeleteWorkflow,
            state_pb2.DeleteWorkflowRequest(tenant=caller.tenant, workflow=request.workflow),
        )
