"""Deterministic keys of a run's steps and of the points derived from them.

A key is the same on every replay of a run: the journal, the event log and the approvals
of stored runs are filed under its text (`str(key)`), so the text of every kind of key
must never change.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class StepKey:
    value: str

    def __str__(self) -> str:
        return self.value

    @classmethod
    def named(cls, name: str) -> StepKey:
        """A point of a pattern that happens once per run ("fan-out", "synthesize")."""
        return cls(name)

    @classmethod
    def step(cls, number: int, name: str) -> StepKey:
        """The `number`th step a sequential run executes (from 1)."""
        return cls(f"s{number:04d}-{name}")

    @classmethod
    def hop(cls, number: int, agent: str) -> StepKey:
        """The agent working on a handoff task at its `number`th visit of any agent (from 1)."""
        return cls(f"h{number:04d}-{agent}")

    @classmethod
    def branch(cls, name: str) -> StepKey:
        return cls(f"branch-{name}")

    @classmethod
    def turn(cls, number: int) -> StepKey:
        """A group chat's turn (from 1), before its speaker is known."""
        return cls(f"t{number:04d}")

    def by(self, speaker: str) -> StepKey:
        """A turn as `speaker` takes it."""
        return self._with(speaker)

    def selection(self) -> StepKey:
        """The selector agent choosing who speaks at this turn."""
        return self._with("select")

    def decision(self) -> StepKey:
        """The decider giving the final answer of a chat."""
        return self._with("decision")

    def retry(self, number: int) -> StepKey:
        """The step run again after its output was rejected for the `number`th time."""
        return self._with(f"retry{number}")

    def corrected(self, number: int) -> StepKey:
        """The agent's `number`th answer again after an invalid output."""
        return self._with(f"fix{number}")

    def before(self) -> StepKey:
        """The go-ahead a person gives before the step runs."""
        return self._with("before")

    def review(self) -> StepKey:
        """A person's review of the step's output."""
        return self._with("review")

    def input(self) -> StepKey:
        """The approval policy asks for before the agent receives its input."""
        return self._with("input")

    def edited(self) -> StepKey:
        """Policy's check of an approver's edit of the output."""
        return self._with("edited")

    def escalated(self) -> StepKey:
        """An approval asked again of the escalation role."""
        return self._with("escalated")

    def actions(self) -> StepKey:
        """What the keys of this step's action approvals start with."""
        return self._with("action-")

    def action(self, action_id: str, binding: str) -> StepKey:
        """The approval of one action with the exact arguments `binding` digests."""
        return StepKey(f"{self.actions()}{action_id}-{binding}")

    def _with(self, suffix: str) -> StepKey:
        return StepKey(f"{self.value}-{suffix}")
