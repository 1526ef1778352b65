"""Everything a pattern needs to know about the run it is executing."""

from __future__ import annotations

import dataclasses
import time

from airspace.mesh.reasons import Reason
from airspace.router.run_log import RunLog
from airspace.router.spec import WorkflowSpec
from airspace.state.v1 import state_pb2
from airspace.v1 import agent_registry_pb2, run_pb2


class RunFailure(Exception):
    """The run cannot go on; `code` is a stable reason, `step_key` where it happened."""

    def __init__(self, message: str, code: str, step_key: str = "", agent: str = ""):
        super().__init__(message)
        self.message = message
        self.code = code
        self.step_key = step_key
        self.agent = agent


@dataclasses.dataclass
class RunContext:
    run: run_pb2.Run
    spec: WorkflowSpec
    log: RunLog
    agents: dict[str, agent_registry_pb2.Agent]
    journal: dict[str, state_pb2.JournalEntry]
    deadline: float
    usage: run_pb2.RunUsage = dataclasses.field(default_factory=run_pb2.RunUsage)
    # Journaled steps this execution is the first to get past: the run paused in their
    # review, before the pattern recorded what followed them.
    reopened: set[str] = dataclasses.field(default_factory=set)

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def tenant(self) -> str:
        return self.run.tenant

    def recorded(self, step_key: str) -> bool:
        """Whether what follows the step was recorded by an earlier execution of the run,
        so a replay must not record it again."""
        return step_key in self.journal and step_key not in self.reopened

    def time_left(self) -> float:
        return self.deadline - time.monotonic()

    def agent(self, name: str, step_key: str) -> agent_registry_pb2.Agent:
        registration = self.agents.get(name)
        if registration is None:
            raise RunFailure(
                f"agent {name!r} is not registered", Reason.AGENT_NOT_REGISTERED, step_key, name
            )
        return registration
