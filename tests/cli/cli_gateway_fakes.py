"""Fake-but-real public services for the CLI's end-to-end tests.

Real gRPC servicers of the gateway's public API with in-memory data: runs
"execute" instantly by walking the workflow's steps and writing the events a
router would, so the CLI sees the same streams and errors it sees in production.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import itertools

import yaml
from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2

from airspace.agent.v1 import agent_pb2
from airspace.mesh import errors
from airspace.mesh.reasons import Reason
from airspace.router import run_outcome
from airspace.v1 import (
    agent_registry_pb2,
    agent_registry_pb2_grpc,
    approval_pb2,
    approval_pb2_grpc,
    run_pb2,
    run_pb2_grpc,
    workflow_pb2,
    workflow_pb2_grpc,
)

API_KEY = "ask_test"
CALLER = "user:dev"
TERMINAL = {run_pb2.RUN_STATE_COMPLETED, run_pb2.RUN_STATE_FAILED, run_pb2.RUN_STATE_CANCELED}


def authorize(context) -> None:
    """What the gateway does first: a valid API key or UNAUTHENTICATED."""
    metadata = dict(context.invocation_metadata() or ())
    if metadata.get("authorization") != f"Bearer {API_KEY}":
        raise errors.Unauthenticated("invalid or missing API key", reason="INVALID_API_KEY")


def now() -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.GetCurrentTime()
    return stamp


@dataclasses.dataclass
class Catalog:
    workflows: dict[str, list[workflow_pb2.Workflow]] = dataclasses.field(default_factory=dict)
    agents: dict[str, agent_registry_pb2.Agent] = dataclasses.field(default_factory=dict)
    runs: dict[str, run_pb2.Run] = dataclasses.field(default_factory=dict)
    events: dict[str, list[run_pb2.RunEvent]] = dataclasses.field(default_factory=dict)
    approvals: dict[str, approval_pb2.Approval] = dataclasses.field(default_factory=dict)
    ids: itertools.count = dataclasses.field(default_factory=lambda: itertools.count(1))
    # Set (and replaced) whenever an event is appended, to wake live streams.
    appended: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    def workflow(self, name: str, version: int = 0) -> workflow_pb2.Workflow:
        versions = self.workflows.get(name)
        if not versions or version > len(versions):
            raise errors.NotFound(f"workflow {name!r} (version {version or 'latest'}) not found")
        return versions[version - 1] if version else versions[-1]

    def run(self, run_id: str) -> run_pb2.Run:
        if run_id not in self.runs:
            raise errors.NotFound(f"run {run_id!r} not found")
        return self.runs[run_id]


class Workflows(workflow_pb2_grpc.WorkflowServiceServicer):
    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    async def CreateWorkflow(self, request, context):
        authorize(context)
        try:
            document = yaml.safe_load(request.source)
        except yaml.YAMLError as exc:
            raise errors.InvalidArgument(f"not YAML: {exc}", field="source") from exc
        if not isinstance(document, dict):
            raise errors.InvalidArgument("a workflow is a mapping", field="source")
        violations = []
        if not document.get("name"):
            violations.append(("source.name", "is required"))
        if not document.get("steps"):
            violations.append(("source.steps", "needs at least one step"))
        if violations:
            raise errors.InvalidArgument("the workflow is invalid", violations=violations)
        versions = self.catalog.workflows.setdefault(document["name"], [])
        if versions and versions[-1].source == request.source:
            return workflow_pb2.CreateWorkflowResponse(workflow=versions[-1], created=False)
        workflow = workflow_pb2.Workflow(
            workflow=document["name"],
            version=len(versions) + 1,
            description=document.get("description", ""),
            pattern=workflow_pb2.PATTERN_SEQUENTIAL,
            agents=[step["agent"] for step in document["steps"]],
            source=request.source,
            created_by=CALLER,
            create_time=now(),
        )
        workflow.spec.update(document)
        if not request.validate_only:
            versions.append(workflow)
        return workflow_pb2.CreateWorkflowResponse(workflow=workflow, created=True)

    async def GetWorkflow(self, request, context):
        authorize(context)
        workflow = self.catalog.workflow(request.workflow, request.version)
        return workflow_pb2.GetWorkflowResponse(workflow=workflow)

    async def ListWorkflows(self, request, context):
        authorize(context)
        latest = [versions[-1] for _, versions in sorted(self.catalog.workflows.items())]
        return workflow_pb2.ListWorkflowsResponse(workflows=latest)


class Agents(agent_registry_pb2_grpc.AgentRegistryServiceServicer):
    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    async def RegisterAgent(self, request, context):
        authorize(context)
        host, _, port = request.endpoint.rpartition(":")
        if not host or not port.isdigit():
            raise errors.InvalidArgument("expected HOST:PORT", field="endpoint")
        name = request.agent or "echo"
        agent = agent_registry_pb2.Agent(
            name=f"agents/{name}",
            agent=name,
            endpoint=request.endpoint,
            protocol=request.protocol,
            card=agent_pb2.AgentCard(
                name=name,
                version="1.2.0",
                description="repeats what it is told",
                skills=[agent_pb2.AgentSkill(id="echo", description="echoes the input")],
                clearances=[agent_pb2.DATA_CLASS_PII],
            ),
            registered_by=CALLER,
            register_time=now(),
        )
        self.catalog.agents[name] = agent
        return agent_registry_pb2.RegisterAgentResponse(
            agent=agent, telemetry_credential=f"atc_credential-of-{name}"
        )

    async def GetAgent(self, request, context):
        authorize(context)
        return agent_registry_pb2.GetAgentResponse(agent=self._agent(request.agent))

    async def ListAgents(self, request, context):
        authorize(context)
        agents = [agent for _, agent in sorted(self.catalog.agents.items())]
        return agent_registry_pb2.ListAgentsResponse(agents=agents)

    async def DeregisterAgent(self, request, context):
        authorize(context)
        self._agent(request.agent)
        del self.catalog.agents[request.agent]
        return agent_registry_pb2.DeregisterAgentResponse()

    def _agent(self, name: str) -> agent_registry_pb2.Agent:
        if name not in self.catalog.agents:
            raise errors.NotFound(f"agent {name!r} is not registered")
        return self.catalog.agents[name]


class Runs(run_pb2_grpc.RunServiceServicer):
    """Runs execute at once: {"fail": true} fails the last step, {"hold": true}
    leaves the run waiting for an approval, {"email": ...} triggers PII masking."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    async def StartRun(self, request, context):
        authorize(context)
        return run_pb2.StartRunResponse(run=self._execute(request))

    async def ExecuteRun(self, request, context):
        authorize(context)
        run = self._execute(request)
        async for event in self._follow(run.run_id, 0):
            yield event

    async def GetRun(self, request, context):
        authorize(context)
        return run_pb2.GetRunResponse(run=self.catalog.run(request.run_id))

    async def ListRuns(self, request, context):
        authorize(context)
        runs = [
            run
            for run in reversed(self.catalog.runs.values())
            if (not request.workflow or run.workflow.name == request.workflow)
            and (not request.state or run.state == request.state)
        ]
        return run_pb2.ListRunsResponse(runs=runs[: request.page_size or 50])

    async def WatchRun(self, request, context):
        authorize(context)
        self.catalog.run(request.run_id)
        async for event in self._follow(request.run_id, request.after_sequence):
            yield event

    async def _follow(self, run_id: str, after: int):
        """The run's events after a cursor, then live ones until the run ends."""
        cursor = after
        while True:
            log = self.catalog.events[run_id]
            for event in log[cursor:]:
                yield event
            cursor = len(log)
            run = self.catalog.runs[run_id]
            if run.state in TERMINAL:
                # The router's rule: a run that did not complete ends its stream with its failure.
                if (failure := run_outcome.failure(run.name, run.state, run.error)) is not None:
                    raise failure
                return
            await self.catalog.appended.wait()

    async def CancelRun(self, request, context):
        authorize(context)
        run = self.catalog.run(request.run_id)
        if run.state in TERMINAL:
            raise errors.FailedPrecondition("the run has already ended", reason="RUN_ENDED")
        self._append(run, "", "", run_state_changed=self._change(run, run_pb2.RUN_STATE_CANCELED))
        run.end_time.CopyFrom(now())
        return run_pb2.CancelRunResponse(run=run)

    def _execute(self, request) -> run_pb2.Run:
        for run in self.catalog.runs.values():
            if request.request_id and run.request_id == request.request_id:
                return run
        workflow = self.catalog.workflow(request.workflow, request.workflow_version)
        run_id = f"run-{next(self.catalog.ids)}"
        run = run_pb2.Run(
            name=f"runs/{run_id}",
            run_id=run_id,
            workflow=agent_pb2.WorkflowRef(name=workflow.workflow, version=workflow.version),
            state=run_pb2.RUN_STATE_QUEUED,
            input=request.input,
            created_by=CALLER,
            create_time=now(),
            trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
            request_id=request.request_id,
        )
        self.catalog.runs[run_id] = run
        self.catalog.events[run_id] = []
        self._append(run, "", "", run_state_changed=self._change(run, run_pb2.RUN_STATE_RUNNING))
        wants = dict(request.input)
        steps = workflow.spec["steps"]
        for index, step in enumerate(steps, start=1):
            key, agent, name = f"s{index:04d}-{step['name']}", step["agent"], step["name"]
            self._append(
                run,
                key,
                agent,
                routing_decision=run_pb2.RoutingDecision(
                    kind=run_pb2.ROUTING_KIND_NEXT_STEP,
                    candidates=[name],
                    chosen=name,
                    decided_by="pattern:sequential",
                    reason="next step in order",
                ),
            )
            self._append(
                run, key, agent, step_started=run_pb2.StepStarted(step_name=name, attempt=1)
            )
            if wants.get("fail") and index == len(steps):
                return self._fail(run, key, agent, name)
            if wants.get("hold") and index == len(steps):
                return self._hold(run, key, agent)
            if "email" in wants:
                self._append(
                    run,
                    key,
                    agent,
                    guardrail_verdict=run_pb2.GuardrailVerdict(
                        checkpoint="step.input",
                        verdict=run_pb2.VERDICT_ALLOW,
                        reasons=[run_pb2.Reason(code="PII_MASKED", rule_id="pii.email")],
                        obligations_applied=["mask email x1"],
                    ),
                )
            output = agent_pb2.FinalOutput(
                message=agent_pb2.Message(parts=[agent_pb2.Part(text=f"{name} done")])
            )
            self._append(
                run,
                key,
                agent,
                step_completed=run_pb2.StepCompleted(
                    step_name=name,
                    attempt=1,
                    output=output,
                    duration=duration_pb2.Duration(nanos=120_000_000),
                ),
            )
            run.usage.steps += 1
        run.output.update({"summary": "all steps done"})
        self._append(run, "", "", run_output=run_pb2.RunOutput(output=run.output))
        self._append(run, "", "", run_state_changed=self._change(run, run_pb2.RUN_STATE_COMPLETED))
        run.end_time.CopyFrom(now())
        return run

    def _fail(self, run, key, agent, name) -> run_pb2.Run:
        error = errors.Internal("the model crashed", reason=Reason.AGENT_INTERNAL).to_status()
        self._append(
            run,
            key,
            agent,
            step_failed=run_pb2.StepFailed(step_name=name, attempt=1, error=error),
        )
        run.error.CopyFrom(error)
        change = self._change(run, run_pb2.RUN_STATE_FAILED)
        change.error.CopyFrom(error)
        self._append(run, "", "", run_state_changed=change)
        run.end_time.CopyFrom(now())
        return run

    def _hold(self, run, key, agent) -> run_pb2.Run:
        payload = struct_pb2.Struct()
        payload.update({"action": "send_contract", "to": "counterparty"})
        approval = approval_pb2.Approval(
            name=f"approvals/ap-{run.run_id}",
            approval_id=f"ap-{run.run_id}",
            run_id=run.run_id,
            step_key=key,
            kind=approval_pb2.APPROVAL_KIND_ACTION,
            state=approval_pb2.APPROVAL_STATE_PENDING,
            required_role="legal-approver",
            summary="send the signed contract",
            payload=payload,
            payload_hash=hashlib.sha256(payload.SerializeToString()).hexdigest(),
            requested_by=CALLER,
            create_time=now(),
        )
        self.catalog.approvals[approval.approval_id] = approval
        self._append(
            run,
            key,
            agent,
            approval_requested=run_pb2.ApprovalRequested(
                approval_id=approval.approval_id,
                role=approval.required_role,
                summary=approval.summary,
            ),
        )
        self._append(
            run, "", "", run_state_changed=self._change(run, run_pb2.RUN_STATE_WAITING_APPROVAL)
        )
        return run

    def _change(self, run, to) -> run_pb2.RunStateChanged:
        change = run_pb2.RunStateChanged(to=to, **{"from": run.state})
        run.state = to
        return change

    def _append(self, run, step_key, agent, **kind) -> None:
        log = self.catalog.events[run.run_id]
        log.append(
            run_pb2.RunEvent(
                run_id=run.run_id,
                sequence=len(log) + 1,
                time=now(),
                step_key=step_key,
                agent=agent,
                **kind,
            )
        )
        run.last_event_sequence = len(log)
        run.update_time.CopyFrom(now())
        self.catalog.appended.set()
        self.catalog.appended = asyncio.Event()


class Approvals(approval_pb2_grpc.ApprovalServiceServicer):
    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    async def ListApprovals(self, request, context):
        authorize(context)
        state = request.state or approval_pb2.APPROVAL_STATE_PENDING
        approvals = [
            a
            for a in self.catalog.approvals.values()
            if a.state == state and (not request.run_id or a.run_id == request.run_id)
        ]
        return approval_pb2.ListApprovalsResponse(approvals=approvals)

    async def GetApproval(self, request, context):
        authorize(context)
        return approval_pb2.GetApprovalResponse(approval=self._approval(request.approval_id))

    async def DecideApproval(self, request, context):
        authorize(context)
        approval = self._approval(request.approval_id)
        if approval.state != approval_pb2.APPROVAL_STATE_PENDING:
            raise errors.FailedPrecondition("already decided", reason="ALREADY_DECIDED")
        if request.payload_hash != approval.payload_hash:
            raise errors.FailedPrecondition(
                "the payload changed since you read it", reason="PAYLOAD_CHANGED"
            )
        approval.state = approval_pb2.APPROVAL_STATE_DECIDED
        approval.outcome = request.outcome
        approval.comment = request.comment
        approval.edited_payload.CopyFrom(request.edited_payload)
        approval.decided_by = "user:approver"
        return approval_pb2.DecideApprovalResponse(approval=approval)

    def _approval(self, approval_id: str) -> approval_pb2.Approval:
        if approval_id not in self.catalog.approvals:
            raise errors.NotFound(f"approval {approval_id!r} not found")
        return self.catalog.approvals[approval_id]


def servicers(catalog: Catalog):
    """(add_to_server, servicer) pairs for MeshServer.add_service."""
    return [
        (run_pb2_grpc.add_RunServiceServicer_to_server, Runs(catalog)),
        (workflow_pb2_grpc.add_WorkflowServiceServicer_to_server, Workflows(catalog)),
        (agent_registry_pb2_grpc.add_AgentRegistryServiceServicer_to_server, Agents(catalog)),
        (approval_pb2_grpc.add_ApprovalServiceServicer_to_server, Approvals(catalog)),
    ]
