"""An agent is a card plus one handler function; this turns them into a mesh-built gRPC server."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Sequence

from airspace.agent.v1 import agent_pb2, agent_pb2_grpc
from airspace.agents.kit.cache import IdempotencyCache
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
        self._handler: Callable | None = None
        self._cache: IdempotencyCache | None = None

    @property
    def name(self) -> str:
        return self.card.name

    def handler(self, function: Callable) -> Callable:
        """Decorator: the function that performs a step for a Task.

        An async function may stream progress, partials and action requests; a plain
        function runs in a worker thread (so it may block) and only returns its outcome."""
        self._handler = function
        return function

    @property
    def executions(self) -> dict[str, int]:
        """How often the handler ran per idempotency key (recently used keys only)."""
        return self._cache.executions() if self._cache else {}

    def build_server(self, settings: AgentSettings | None = None) -> mesh_server.MeshServer:
        if self._handler is None:
            raise RuntimeError(
                f"agent {self.name} has no handler; decorate one with @agent.handler"
            )
        settings = settings or AgentSettings()
        self._cache = IdempotencyCache(settings.result_cache_size)
        # Agents are not mesh members: they accept calls without a mesh identity.
        srv = mesh_server.MeshServer(self.name, settings, authenticate=False)
        srv.add_service(
            agent_pb2_grpc.add_AgentServiceServicer_to_server,
            AgentServicer(self.card, self._handler, self._cache),
        )
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
