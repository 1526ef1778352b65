"""An agent is a card plus one handler function; this turns them into a mesh-built gRPC server."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import pathlib
from collections.abc import Callable, Sequence

from airspace.agent.v1 import agent_pb2, agent_pb2_grpc
from airspace.agents.kit.executions import Executions
from airspace.agents.kit.results import ResultStore
from airspace.agents.kit.running import Handler, HandlerRunner
from airspace.agents.kit.servicer import AgentServicer
from airspace.agents.kit.settings import ENV_PREFIX, AgentSettings
from airspace.mesh import server as mesh_server
from airspace.mesh import settings as mesh_settings
from airspace.mesh import telemetry
from airspace.policy.engine.pii.log_masking import mask_log_text

DEFAULT_MODES = ("text/plain", "application/json")


@dataclasses.dataclass(frozen=True)
class Skill:
    id: str
    name: str
    description: str = ""
    tags: Sequence[str] = ()
    examples: Sequence[str] = ()


class Agent:
    """agent = Agent(name="contract-extractor", version="1.0.0", ...)

    @agent.handler
    async def extract(task: Task) -> Reply: ...

    agent.serve()"""

    def __init__(
        self,
        name: str,
        version: str,
        description: str = "",
        skills: Sequence[Skill | dict] = (),
        clearances: Sequence[str] = (),
        *,
        input_modes: Sequence[str] = DEFAULT_MODES,
        output_modes: Sequence[str] = DEFAULT_MODES,
        provider: str = "",
        streaming: bool = False,
        actions: bool = False,
        handoff: bool = False,
    ):
        if not name or not version:
            raise ValueError("an agent needs a name and a version")
        self.card = agent_pb2.AgentCard(
            name=name,
            version=version,
            description=description,
            skills=[_skill(skill) for skill in skills],
            input_modes=input_modes,
            output_modes=output_modes,
            clearances=[_data_class(clearance) for clearance in clearances],
            capabilities=agent_pb2.AgentCapabilities(
                streaming=streaming, actions=actions, handoff=handoff, idempotent=True
            ),
            provider=provider,
            runtime="python",
        )
        self._handler: Handler | None = None
        self._executions: Executions | None = None

    @property
    def name(self) -> str:
        return self.card.name

    def handler(self, function: Callable | None = None, *, run_in: str | None = None):
        """Decorator: the function that performs a step for a Task (`@agent.handler`, or
        `@agent.handler(run_in="process")`).

        An async function runs on the event loop and may stream progress, partials and
        action requests. A plain function only returns its outcome; it runs in a worker
        thread (run_in="thread", the default: it may block on I/O) or, when it computes in
        Python, in a worker process (run_in="process"); see running.py."""
        if function is None:
            return functools.partial(self.handler, run_in=run_in)
        self._handler = Handler.of(function, run_in)
        return function

    @property
    def executions(self) -> dict[str, int]:
        """How often the handler ran per idempotency key since the server started (recent
        keys only)."""
        return self._executions.counts() if self._executions else {}

    def build_server(self, settings: AgentSettings | None = None) -> mesh_server.MeshServer:
        if self._handler is None:
            raise RuntimeError(
                f"agent {self.name} has no handler; decorate one with @agent.handler"
            )
        settings = settings or AgentSettings()
        results = ResultStore(
            pathlib.Path(settings.result_store_path)
            if settings.result_store_path
            else settings.data_path(f"{self.name}.results.db"),
            settings.result_store_size,
            settings.result_store_retention_seconds,
        )
        self._executions = Executions(results, settings.result_store_size)
        runner = HandlerRunner(self.name, self._handler, settings.handler_workers)
        # Agents are not mesh members: they accept calls without a mesh identity.
        srv = mesh_server.MeshServer(self.name, settings, authenticate=False)
        srv.add_service(
            agent_pb2_grpc.add_AgentServiceServicer_to_server,
            AgentServicer(self.card, runner, results, self._executions),
        )

        async def close() -> None:
            await asyncio.to_thread(runner.close)  # waits for worker processes to exit
            results.close()

        srv.on_stop(close)
        return srv

    def serve(self, argv: Sequence[str] | None = None) -> None:
        """Runs the agent until SIGTERM/SIGINT. Flags override AIRSPACE_AGENT_* settings."""
        parser = argparse.ArgumentParser(prog=self.name, description=self.card.description)
        parser.add_argument("--host", help="interface to listen on (AIRSPACE_AGENT_HOST)")
        parser.add_argument("--port", type=int, help="port, 0 for any (AIRSPACE_AGENT_PORT)")
        flags = {
            key: value for key, value in vars(parser.parse_args(argv)).items() if value is not None
        }
        settings = mesh_settings.load(AgentSettings, ENV_PREFIX, **flags)
        telemetry.setup_for(self.name, settings, settings.telemetry_credential)
        mesh_server.run(self.build_server(settings), mask_logs=mask_log_text)


def _skill(skill: Skill | dict) -> agent_pb2.AgentSkill:
    skill = Skill(**skill) if isinstance(skill, dict) else skill
    return agent_pb2.AgentSkill(
        id=skill.id,
        name=skill.name,
        description=skill.description,
        tags=skill.tags,
        examples=skill.examples,
    )


def _data_class(clearance: str) -> str:
    name = clearance if clearance.startswith("DATA_CLASS_") else f"DATA_CLASS_{clearance}"
    if name not in agent_pb2.DataClass.DESCRIPTOR.values_by_name or name.endswith("_UNSPECIFIED"):
        raise ValueError(f"unknown clearance {clearance!r}")
    return name
