"""The router's public services: each method translates proto to domain and back, nothing else."""

from __future__ import annotations

from airspace.router import converters
from airspace.router.agent_registry import AgentRegistry
from airspace.router.approvals import Approvals
from airspace.router.repositories import TraceQueries
from airspace.router.runs import Runs
from airspace.router.workflows import Workflows
from airspace.v1 import (
    agent_registry_pb2,
    agent_registry_pb2_grpc,
    approval_pb2,
    approval_pb2_grpc,
    observability_pb2,
    observability_pb2_grpc,
    run_pb2,
    run_pb2_grpc,
    workflow_pb2,
    workflow_pb2_grpc,
)


class RunServicer(run_pb2_grpc.RunServiceServicer):
    def __init__(self, runs: Runs):
        self._runs = runs

    async def StartRun(self, request, context):
        return run_pb2.StartRunResponse(run=await self._runs.start(converters.start_run(request)))

    async def ExecuteRun(self, request, context):
        run = await self._runs.start(converters.start_run(request))
        async for run_event in self._runs.watch(run.run_id, 0):
            yield run_event

    async def GetRun(self, request, context):
        return run_pb2.GetRunResponse(run=await self._runs.get(request.run_id))

    async def ListRuns(self, request, context):
        listed = await self._runs.list(converters.list_runs(request))
        return run_pb2.ListRunsResponse(runs=listed.items, next_page_token=listed.next_token)

    async def WatchRun(self, request, context):
        async for run_event in self._runs.watch(request.run_id, request.after_sequence):
            yield run_event

    async def CancelRun(self, request, context):
        return run_pb2.CancelRunResponse(
            run=await self._runs.cancel(converters.cancel_run(request))
        )


class WorkflowServicer(workflow_pb2_grpc.WorkflowServiceServicer):
    def __init__(self, workflows: Workflows):
        self._workflows = workflows

    async def CreateWorkflow(self, request, context):
        workflow, created = await self._workflows.create(converters.create_workflow(request))
        return workflow_pb2.CreateWorkflowResponse(workflow=workflow, created=created)

    async def GetWorkflow(self, request, context):
        found = await self._workflows.get(converters.get_workflow(request))
        return workflow_pb2.GetWorkflowResponse(workflow=found)

    async def ListWorkflows(self, request, context):
        listed = await self._workflows.list(converters.page(request))
        return workflow_pb2.ListWorkflowsResponse(
            workflows=listed.items, next_page_token=listed.next_token
        )

    async def DeleteWorkflow(self, request, context):
        await self._workflows.delete(request.workflow)
        return workflow_pb2.DeleteWorkflowResponse()


class AgentRegistryServicer(agent_registry_pb2_grpc.AgentRegistryServiceServicer):
    def __init__(self, registry: AgentRegistry):
        self._registry = registry

    async def RegisterAgent(self, request, context):
        return agent_registry_pb2.RegisterAgentResponse(
            agent=await self._registry.register(converters.register_agent(request))
        )

    async def GetAgent(self, request, context):
        return agent_registry_pb2.GetAgentResponse(agent=await self._registry.get(request.agent))

    async def ListAgents(self, request, context):
        listed = await self._registry.list(converters.page(request))
        return agent_registry_pb2.ListAgentsResponse(
            agents=listed.items, next_page_token=listed.next_token
        )

    async def DeregisterAgent(self, request, context):
        await self._registry.deregister(request.agent)
        return agent_registry_pb2.DeregisterAgentResponse()


class ApprovalServicer(approval_pb2_grpc.ApprovalServiceServicer):
    def __init__(self, approvals: Approvals):
        self._approvals = approvals

    async def ListApprovals(self, request, context):
        listed = await self._approvals.list(converters.list_approvals(request))
        return approval_pb2.ListApprovalsResponse(
            approvals=listed.items, next_page_token=listed.next_token
        )

    async def GetApproval(self, request, context):
        return approval_pb2.GetApprovalResponse(
            approval=await self._approvals.get(request.approval_id)
        )

    async def DecideApproval(self, request, context):
        decided = await self._approvals.decide(converters.decide_approval(request))
        return approval_pb2.DecideApprovalResponse(approval=decided)


class TraceServicer(observability_pb2_grpc.TraceServiceServicer):
    """The trace of a run, for callers who may read the run (the collector knows no tenants)."""

    def __init__(self, runs: Runs, traces: TraceQueries):
        self._runs = runs
        self._traces = traces

    async def GetRunTrace(self, request, context):
        run = await self._runs.get(request.run_id)
        found = await self._traces.run_trace(run.run_id)
        return observability_pb2.GetRunTraceResponse(trace_id=found.trace_id, spans=found.spans)
