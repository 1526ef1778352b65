"""The router's public services: each method translates proto to domain and back, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from airspace.router import converters
from airspace.router.agent_registry import AgentRegistry
from airspace.router.approvals import Approvals
from airspace.router.reader_view import ReaderView
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
    def __init__(self, runs: Runs, view: ReaderView):
        self._runs = runs
        self._view = view

    async def StartRun(
        self,
        request: run_pb2.StartRunRequest,
        context: grpc.aio.ServicerContext[run_pb2.StartRunRequest, run_pb2.StartRunResponse],
    ) -> run_pb2.StartRunResponse:
        run = await self._runs.start(converters.start_run(request))
        return run_pb2.StartRunResponse(run=await self._view.run(run))

    async def ExecuteRun(
        self,
        request: run_pb2.ExecuteRunRequest,
        context: grpc.aio.ServicerContext[run_pb2.ExecuteRunRequest, run_pb2.RunEvent],
    ) -> AsyncIterator[run_pb2.RunEvent]:
        run = await self._runs.start(converters.start_run(request))
        async for run_event in self._runs.follow(run, 0):
            yield await self._view.event(run_event)

    async def RunWorkflow(
        self,
        request: run_pb2.RunWorkflowRequest,
        context: grpc.aio.ServicerContext[run_pb2.RunWorkflowRequest, run_pb2.RunWorkflowResponse],
    ) -> run_pb2.RunWorkflowResponse:
        run = await self._runs.run_to_end(converters.start_run(request))
        return run_pb2.RunWorkflowResponse(run=run)

    async def GetRun(
        self,
        request: run_pb2.GetRunRequest,
        context: grpc.aio.ServicerContext[run_pb2.GetRunRequest, run_pb2.GetRunResponse],
    ) -> run_pb2.GetRunResponse:
        run = await self._runs.get(request.run_id)
        return run_pb2.GetRunResponse(run=await self._view.run(run))

    async def ListRuns(
        self,
        request: run_pb2.ListRunsRequest,
        context: grpc.aio.ServicerContext[run_pb2.ListRunsRequest, run_pb2.ListRunsResponse],
    ) -> run_pb2.ListRunsResponse:
        listed = await self._runs.list(converters.list_runs(request))
        runs = await self._view.runs(listed.items)
        return run_pb2.ListRunsResponse(runs=runs, next_page_token=listed.next_token)

    async def WatchRun(
        self,
        request: run_pb2.WatchRunRequest,
        context: grpc.aio.ServicerContext[run_pb2.WatchRunRequest, run_pb2.RunEvent],
    ) -> AsyncIterator[run_pb2.RunEvent]:
        async for run_event in self._runs.watch(request.run_id, request.after_sequence):
            yield await self._view.event(run_event)

    async def CancelRun(
        self,
        request: run_pb2.CancelRunRequest,
        context: grpc.aio.ServicerContext[run_pb2.CancelRunRequest, run_pb2.CancelRunResponse],
    ) -> run_pb2.CancelRunResponse:
        run = await self._runs.cancel(converters.cancel_run(request))
        return run_pb2.CancelRunResponse(run=await self._view.run(run))


class WorkflowServicer(workflow_pb2_grpc.WorkflowServiceServicer):
    def __init__(self, workflows: Workflows):
        self._workflows = workflows

    async def CreateWorkflow(
        self,
        request: workflow_pb2.CreateWorkflowRequest,
        context: grpc.aio.ServicerContext[
            workflow_pb2.CreateWorkflowRequest, workflow_pb2.CreateWorkflowResponse
        ],
    ) -> workflow_pb2.CreateWorkflowResponse:
        workflow, created = await self._workflows.create(converters.create_workflow(request))
        return workflow_pb2.CreateWorkflowResponse(workflow=workflow, created=created)

    async def GetWorkflow(
        self,
        request: workflow_pb2.GetWorkflowRequest,
        context: grpc.aio.ServicerContext[
            workflow_pb2.GetWorkflowRequest, workflow_pb2.GetWorkflowResponse
        ],
    ) -> workflow_pb2.GetWorkflowResponse:
        found = await self._workflows.get(converters.get_workflow(request))
        return workflow_pb2.GetWorkflowResponse(workflow=found)

    async def ListWorkflows(
        self,
        request: workflow_pb2.ListWorkflowsRequest,
        context: grpc.aio.ServicerContext[
            workflow_pb2.ListWorkflowsRequest, workflow_pb2.ListWorkflowsResponse
        ],
    ) -> workflow_pb2.ListWorkflowsResponse:
        listed = await self._workflows.list(converters.page(request))
        return workflow_pb2.ListWorkflowsResponse(
            workflows=listed.items, next_page_token=listed.next_token
        )

    async def DeleteWorkflow(
        self,
        request: workflow_pb2.DeleteWorkflowRequest,
        context: grpc.aio.ServicerContext[
            workflow_pb2.DeleteWorkflowRequest, workflow_pb2.DeleteWorkflowResponse
        ],
    ) -> workflow_pb2.DeleteWorkflowResponse:
        await self._workflows.delete(request.workflow)
        return workflow_pb2.DeleteWorkflowResponse()


class AgentRegistryServicer(agent_registry_pb2_grpc.AgentRegistryServiceServicer):
    def __init__(self, registry: AgentRegistry):
        self._registry = registry

    async def RegisterAgent(
        self,
        request: agent_registry_pb2.RegisterAgentRequest,
        context: grpc.aio.ServicerContext[
            agent_registry_pb2.RegisterAgentRequest, agent_registry_pb2.RegisterAgentResponse
        ],
    ) -> agent_registry_pb2.RegisterAgentResponse:
        agent = await self._registry.register(converters.register_agent(request))
        return agent_registry_pb2.RegisterAgentResponse(
            agent=agent, telemetry_credential=self._registry.telemetry_credential(agent)
        )

    async def GetAgent(
        self,
        request: agent_registry_pb2.GetAgentRequest,
        context: grpc.aio.ServicerContext[
            agent_registry_pb2.GetAgentRequest, agent_registry_pb2.GetAgentResponse
        ],
    ) -> agent_registry_pb2.GetAgentResponse:
        return agent_registry_pb2.GetAgentResponse(agent=await self._registry.get(request.agent))

    async def ListAgents(
        self,
        request: agent_registry_pb2.ListAgentsRequest,
        context: grpc.aio.ServicerContext[
            agent_registry_pb2.ListAgentsRequest, agent_registry_pb2.ListAgentsResponse
        ],
    ) -> agent_registry_pb2.ListAgentsResponse:
        listed = await self._registry.list(converters.page(request))
        return agent_registry_pb2.ListAgentsResponse(
            agents=listed.items, next_page_token=listed.next_token
        )

    async def DeregisterAgent(
        self,
        request: agent_registry_pb2.DeregisterAgentRequest,
        context: grpc.aio.ServicerContext[
            agent_registry_pb2.DeregisterAgentRequest, agent_registry_pb2.DeregisterAgentResponse
        ],
    ) -> agent_registry_pb2.DeregisterAgentResponse:
        await self._registry.deregister(request.agent)
        return agent_registry_pb2.DeregisterAgentResponse()


class ApprovalServicer(approval_pb2_grpc.ApprovalServiceServicer):
    def __init__(self, approvals: Approvals, view: ReaderView):
        self._approvals = approvals
        self._view = view

    async def ListApprovals(
        self,
        request: approval_pb2.ListApprovalsRequest,
        context: grpc.aio.ServicerContext[
            approval_pb2.ListApprovalsRequest, approval_pb2.ListApprovalsResponse
        ],
    ) -> approval_pb2.ListApprovalsResponse:
        listed = await self._approvals.list(converters.list_approvals(request))
        approvals = await self._view.approvals(listed.items)
        return approval_pb2.ListApprovalsResponse(
            approvals=approvals, next_page_token=listed.next_token
        )

    async def GetApproval(
        self,
        request: approval_pb2.GetApprovalRequest,
        context: grpc.aio.ServicerContext[
            approval_pb2.GetApprovalRequest, approval_pb2.GetApprovalResponse
        ],
    ) -> approval_pb2.GetApprovalResponse:
        approval = await self._approvals.get(request.approval_id)
        return approval_pb2.GetApprovalResponse(approval=await self._view.approval(approval))

    async def DecideApproval(
        self,
        request: approval_pb2.DecideApprovalRequest,
        context: grpc.aio.ServicerContext[
            approval_pb2.DecideApprovalRequest, approval_pb2.DecideApprovalResponse
        ],
    ) -> approval_pb2.DecideApprovalResponse:
        decided = await self._approvals.decide(converters.decide_approval(request))
        return approval_pb2.DecideApprovalResponse(approval=await self._view.approval(decided))


class TraceServicer(observability_pb2_grpc.TraceServiceServicer):
    """The trace of a run, for callers who may read the run (the collector knows no tenants)."""

    def __init__(self, runs: Runs, traces: TraceQueries, view: ReaderView):
        self._runs = runs
        self._traces = traces
        self._view = view

    async def GetRunTrace(
        self,
        request: observability_pb2.GetRunTraceRequest,
        context: grpc.aio.ServicerContext[
            observability_pb2.GetRunTraceRequest, observability_pb2.GetRunTraceResponse
        ],
    ) -> observability_pb2.GetRunTraceResponse:
        run = await self._runs.get(request.run_id)
        found = await self._traces.run_trace(run.run_id)
        spans = await self._view.spans(run.run_id, found.spans)
        return observability_pb2.GetRunTraceResponse(trace_id=found.trace_id, spans=spans)
