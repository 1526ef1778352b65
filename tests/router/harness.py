"""The router's domain on in-memory repositories and scripted agents: no servers, no
processes. A test registers agents (functions of the InvokeStart they receive), stores
a workflow and runs it through the real executor, patterns and step pipeline."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Awaitable, Callable

import yaml

from airspace.agent.v1 import agent_pb2
from airspace.mesh import identity
from airspace.router.agent_invoker import OnAction
from airspace.router.approval_gate import ApprovalGate
from airspace.router.attempt import Attempt, OnEvent
from airspace.router.commands import StartRun
from airspace.router.convert import to_struct
from airspace.router.executor import RunExecutor
from airspace.router.guard import Guard
from airspace.router.repositories import Decision, PageRequest, Repositories
from airspace.router.repositories.in_memory import in_memory_repositories
from airspace.router.run_log import TERMINAL_STATES
from airspace.router.runs import Runs
from airspace.router.settings import RouterSettings
from airspace.router.spec import validate
from airspace.router.spec.compiled import CompiledSpecs
from airspace.router.step_runner import StepRunner
from airspace.v1 import agent_registry_pb2, approval_pb2, run_pb2, workflow_pb2

TENANT = "acme"
# An agent: what it answers to its InvokeStart; it may ask for actions through the callback.
Behaviour = Callable[[agent_pb2.InvokeStart, OnAction], Awaitable[agent_pb2.InvokeEvent]]


def final(text: str = "", confidence: float | None = None, **data: object) -> agent_pb2.InvokeEvent:
    done = agent_pb2.FinalOutput(message=agent_pb2.Message(parts=[agent_pb2.Part(text=text)]))
    done.data.update(data)
    if confidence is not None:
        done.confidence = confidence
    return agent_pb2.InvokeEvent(final=done)


def answers(text: str, **data: object) -> Behaviour:
    """An agent that gives the same final output to every task."""

    async def behaviour(start: agent_pb2.InvokeStart, act: OnAction) -> agent_pb2.InvokeEvent:
        return final(text, **data)

    return behaviour


def handoff(target: str, reason: str = "") -> agent_pb2.InvokeEvent:
    return agent_pb2.InvokeEvent(handoff=agent_pb2.HandoffRequest(target=target, reason=reason))


def failure(
    message: str,
    retryable: bool = True,
    kind: agent_pb2.AgentErrorKind.ValueType = agent_pb2.AGENT_ERROR_KIND_INTERNAL,
) -> agent_pb2.InvokeEvent:
    error = agent_pb2.AgentError(kind=kind, message=message, retryable=retryable)
    return agent_pb2.InvokeEvent(error=error)


class ScriptedAgents:
    """Stands in for the agent invoker: each agent is a function of its InvokeStart."""

    def __init__(self) -> None:
        self.behaviours: dict[str, Behaviour] = {}
        self.calls: list[agent_pb2.InvokeStart] = []

    async def invoke(
        self,
        endpoint: str,
        start: agent_pb2.InvokeStart,
        timeout: float,
        on_event: OnEvent,
        on_action: OnAction,
        protocol: int | None = None,
    ) -> Attempt:
        seen = agent_pb2.InvokeStart()
        seen.CopyFrom(start)  # the router reuses its message for the next attempt
        self.calls.append(seen)
        began = time.monotonic()
        answer = await self.behaviours[endpoint](start, on_action)
        attempt = Attempt(duration=time.monotonic() - began)
        kind = answer.WhichOneof("kind")
        if kind == "final":
            attempt.final = answer.final
        elif kind == "handoff":
            attempt.handoff = answer.handoff
        else:
            kind = agent_pb2.AgentErrorKind.Name(answer.error.kind).removeprefix(
                "AGENT_ERROR_KIND_"
            )
            attempt.failure, attempt.failure_code = answer.error.message, f"AGENT_{kind}"
            attempt.retryable = answer.error.retryable
        return attempt


async def until(condition: Callable[[], object], attempts: int = 500) -> None:
    """Waits, a hundredth of a second at a time, for `condition()` to hold."""
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


@dataclasses.dataclass
class Router:
    """One router over in-memory repositories; `replica()` is another over the same ones."""

    agents: ScriptedAgents = dataclasses.field(default_factory=ScriptedAgents)
    repositories: Repositories = dataclasses.field(default_factory=in_memory_repositories)
    router_id: str = "router-1"
    # How often recovery (once a test starts it) looks for runs nobody leased.
    recovery_interval_seconds: float = 5.0
    # How long a watcher of a run executing here waits for an event before asking state.
    watch_quiet_seconds: float = 5.0
    # Runs executed at once; more wait in the admission queue.
    max_running_runs: int = 1000
    # How long the audit relay gathers records before it moves them to the audit log.
    audit_relay_seconds: float = 0.01

    def __post_init__(self) -> None:
        settings = RouterSettings(
            mesh_key=b"k" * 32,
            router_id=self.router_id,
            lease_seconds=5.0,
            heartbeat_seconds=0.05,
            recovery_interval_seconds=self.recovery_interval_seconds,
            watch_quiet_seconds=self.watch_quiet_seconds,
            max_running_runs=self.max_running_runs,
            audit_relay_seconds=self.audit_relay_seconds,
        )
        guard = Guard(self.repositories.policy)
        gate = ApprovalGate(self.repositories.approvals)
        runner = StepRunner(guard, self.agents, gate, default_timeout=5.0)  # type: ignore[arg-type]
        specs = CompiledSpecs()
        self.executor = RunExecutor(settings, self.repositories, runner, specs)
        self.runs = Runs(self.repositories, guard, self.executor, specs)

    async def register(self, name: str, behaviour: Behaviour) -> None:
        self.agents.behaviours[name] = behaviour
        card = agent_pb2.AgentCard(name=name, version="1.0.0")
        await self.repositories.agents.put(
            agent_registry_pb2.Agent(agent=name, endpoint=name, card=card, tenant=TENANT)
        )

    async def workflow(self, document: str) -> workflow_pb2.Workflow:
        spec = validate(yaml.safe_load(document))
        stored, _ = await self.repositories.workflows.put(
            workflow_pb2.Workflow(
                workflow=spec.name,
                agents=spec.agents,
                spec=to_struct(spec.document),
                etag=spec.etag,
                tenant=TENANT,
            )
        )
        return stored

    async def start(self, workflow: workflow_pb2.Workflow, text: str = "") -> run_pb2.Run:
        run = run_pb2.Run(
            run_id=uuid.uuid4().hex,
            tenant=TENANT,
            request_id=uuid.uuid4().hex,
            trace_id=uuid.uuid4().hex,
            created_by="user:alice",
            input=to_struct({"text": text}),
        )
        run.workflow.name, run.workflow.version = workflow.workflow, workflow.version
        created = (await self.repositories.runs.create(run)).run
        self.executor.launch(created)
        return created

    async def start_run(self, workflow: str, text: str = "", request_id: str = "") -> run_pb2.Run:
        """Starts a run as the public API does (Runs.start), as user:alice of TENANT."""
        token = identity.bind(identity.Identity("user:alice", TENANT, ("operator",)))
        try:
            return await self.runs.start(StartRun(workflow, 0, {"text": text}, {}, request_id))
        finally:
            identity.reset(token)

    async def settled(self, run: run_pb2.Run, timeout: float = 10.0) -> run_pb2.Run:
        """The run once it ended or waits for a person."""
        async with asyncio.timeout(timeout):
            while True:
                current = await self.repositories.runs.get(TENANT, run.run_id)
                parked = current.state == run_pb2.RUN_STATE_WAITING_APPROVAL
                if (current.state in TERMINAL_STATES or parked) and not self.executor.busy(
                    run.run_id
                ):
                    return current
                await asyncio.sleep(0.01)

    async def run(self, document: str, text: str = "") -> run_pb2.Run:
        return await self.settled(await self.start(await self.workflow(document), text))

    async def events(self, run: run_pb2.Run) -> list[run_pb2.RunEvent]:
        return await self.repositories.runs.events(TENANT, run.run_id, 0, 10_000)

    async def decide(self, approval_id: str, outcome: int, by: str = "user:bob") -> None:
        decided = await self.repositories.approvals.decide(
            TENANT, approval_id, Decision(outcome=outcome, decided_by=by)
        )
        await self.executor.resume(decided)

    def replica(self, router_id: str, recovery_interval_seconds: float = 5.0) -> Router:
        return Router(self.agents, self.repositories, router_id, recovery_interval_seconds)

    async def approvals(self) -> list[approval_pb2.Approval]:
        return (await self.repositories.approvals.list(TENANT, PageRequest())).items

    async def close(self) -> None:
        await self.executor.shutdown()
