"""What a step receives and produces (a payload: text, data, and the agent's confidence
when it gave one), and what it sees of the run so far (context items, each a payload
with its author).

Policy checks, CEL conditions, approvals and the run's output document read these in
their dict form: {"text", "data"} and "confidence" when there is one, plus "author" and
"role" for a context item. Agents receive them as the contract's messages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from airspace.agent.v1 import agent_pb2
from airspace.router import convert


@dataclasses.dataclass(frozen=True)
class Payload:
    text: str = ""
    data: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    confidence: float | None = None

    @classmethod
    def of_run_input(cls, run_input: Mapping[str, Any]) -> Payload:
        """A run's input as a step input: its text, and the rest as data."""
        data = {key: value for key, value in run_input.items() if key != "text"}
        return cls(run_input.get("text", ""), data)

    @classmethod
    def of_output(cls, output: agent_pb2.FinalOutput) -> Payload:
        """What policy and the next step see of an agent's output (or of a journaled one)."""
        confidence = round(output.confidence, 4) if output.HasField("confidence") else None
        return cls(convert.message_text(output.message), convert.to_dict(output.data), confidence)

    @classmethod
    def from_dict(cls, form: Mapping[str, Any]) -> Payload:
        """The payload of a dict form, e.g. as policy's masks left it."""
        return cls(form.get("text", ""), form.get("data", {}), form.get("confidence"))

    def to_dict(self) -> dict[str, Any]:
        form: dict[str, Any] = {"text": self.text, "data": self.data}
        if self.confidence is not None:
            form["confidence"] = self.confidence
        return form

    def only(self, fields: tuple[str, ...]) -> Payload:
        """No text and only the named data fields: all that an input mapping or a handoff
        edge naming `fields` lets through (free text could carry anything)."""
        data = {field: self.data[field] for field in fields if field in self.data}
        return dataclasses.replace(self, text="", data=data)

    def as_input(self, fields: tuple[str, ...] = ()) -> Payload:
        """The payload as a step input: all of it, or only the named data fields when
        fields are named; the confidence was the previous agent's, not the input's."""
        bounded = self.only(fields) if fields else self
        return Payload(bounded.text, bounded.data)

    def message(self, role: agent_pb2.Role, author: str) -> agent_pb2.Message:
        return convert.build_message(role, author, self.text, self.data)


@dataclasses.dataclass(frozen=True)
class ContextItem:
    """An earlier message of the run that a step sees: a transcript entry, an earlier
    step's output, a reviewer's comment. Without a role, agents read it as an agent's."""

    author: str
    payload: Payload
    role: agent_pb2.Role | None = None

    @classmethod
    def from_dict(cls, form: Mapping[str, Any]) -> ContextItem:
        return cls(form.get("author", ""), Payload.from_dict(form), form.get("role"))

    def to_dict(self) -> dict[str, Any]:
        form: dict[str, Any] = {"author": self.author}
        if self.role is not None:
            form["role"] = self.role
        return {**form, **self.payload.to_dict()}

    def only(self, fields: tuple[str, ...]) -> ContextItem:
        return dataclasses.replace(self, payload=self.payload.only(fields))

    def message(self) -> agent_pb2.Message:
        role = agent_pb2.ROLE_AGENT if self.role is None else self.role
        return self.payload.message(role, self.author)
