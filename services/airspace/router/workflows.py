"""Workflow definitions: validated, checked against the registry, stored as immutable versions."""

from __future__ import annotations

from airspace.mesh import errors
from airspace.mesh.reasons import Reason
from airspace.router.commands import CreateWorkflow, GetWorkflow
from airspace.router.convert import to_struct
from airspace.router.guard import Guard
from airspace.router.repositories import AgentRepository, Page, PageRequest, WorkflowRepository
from airspace.router.spec import WorkflowSpec, parse_source, validate
from airspace.router.spec.model import Pattern
from airspace.v1 import workflow_pb2

MAX_SOURCE_BYTES = 256 * 1024
_PATTERNS = {
    Pattern.SEQUENTIAL: workflow_pb2.PATTERN_SEQUENTIAL,
    Pattern.CONCURRENT: workflow_pb2.PATTERN_CONCURRENT,
    Pattern.GROUP_CHAT: workflow_pb2.PATTERN_GROUP_CHAT,
    Pattern.HANDOFF: workflow_pb2.PATTERN_HANDOFF,
}


class Workflows:
    def __init__(self, workflows: WorkflowRepository, agents: AgentRepository, guard: Guard):
        self._workflows = workflows
        self._agents = agents
        self._guard = guard

    async def create(self, request: CreateWorkflow) -> tuple[workflow_pb2.Workflow, bool]:
        """The stored workflow and whether it is a new version (never, when validate_only)."""
        if request.source is not None:
            if len(request.source.encode()) > MAX_SOURCE_BYTES:
                raise errors.InvalidArgument(
                    f"source is larger than {MAX_SOURCE_BYTES} bytes", field="source"
                )
            document = parse_source(request.source)
            source = request.source
        elif request.document is not None:
            document, source = request.document, ""
        else:
            raise errors.InvalidArgument(
                "a workflow document is required in source or spec", field="source"
            )
        spec = validate(document)
        caller = await self._guard.authorize("workflow.write", "workflow", spec.name)
        await self._check_agents(caller.tenant, spec)
        workflow = workflow_pb2.Workflow(
            workflow=spec.name,
            description=spec.description,
            pattern=_PATTERNS[spec.pattern],
            agents=spec.agents,
            spec=to_struct(spec.document),
            source=source,
            etag=spec.etag,
            tenant=caller.tenant,
            created_by=caller.principal,
        )
        if request.validate_only:
            return workflow, False
        return await self._workflows.put(workflow)

    async def _check_agents(self, tenant: str, spec: WorkflowSpec) -> None:
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
            await self._agents.get(tenant, agent)
        except errors.NotFound:
            return False
        return True

    async def get(self, request: GetWorkflow) -> workflow_pb2.Workflow:
        if not request.workflow:
            raise errors.InvalidArgument("workflow is required", field="workflow")
        tenant = (await self._guard.authorize("workflow.read", "workflow", request.workflow)).tenant
        return await self._workflows.get(tenant, request.workflow, request.version)

    async def list(self, page: PageRequest) -> Page[workflow_pb2.Workflow]:
        tenant = (await self._guard.authorize("workflow.read", "workflow")).tenant
        return await self._workflows.list(tenant, page)

    async def delete(self, name: str) -> None:
        if not name:
            raise errors.InvalidArgument("workflow is required", field="workflow")
        caller = await self._guard.authorize("workflow.write", "workflow", name)
        await self._workflows.delete(caller.tenant, name)
