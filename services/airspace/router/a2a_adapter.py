"""Calls agents that speak A2A's gRPC binding (lf.a2a.v1.A2AService) on the router's behalf.

At registration the agent's Agent Card (GetExtendedAgentCard) becomes an airspace AgentCard:
its skills, modes and provider carry over; it gets no data clearances, so policy masks
protected data before it reaches the agent. A step attempt becomes one A2A message, sent
streaming when the card says the agent streams, and the A2A task's states become the
attempt's outcome:

    SUBMITTED, WORKING             progress events
    artifact updates               partial outputs, then the final output's artifacts
    COMPLETED (or a direct reply)  the final output
    FAILED, REJECTED, CANCELED     a failed attempt (AGENT_INTERNAL, AGENT_REJECTED, AGENT_CANCELED)
    INPUT_REQUIRED, AUTH_REQUIRED  a failed attempt (a workflow step cannot answer); the task is canceled

A2A has no handoff or action requests, so an A2A agent never hands off or asks to act.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import time
import uuid
from collections.abc import Iterable
from typing import Any

import grpc
from a2a.types import a2a_pb2, a2a_pb2_grpc
from google.protobuf import json_format

from airspace.agent.v1 import agent_pb2
from airspace.mesh import channels, errors
from airspace.mesh.reasons import Reason
from airspace.mesh.settings import ServerSettings
from airspace.router.attempt import RETRYABLE_CODES, Attempt, OnEvent, describe_rpc_error

# A2A servers read the protocol version from this header; without it they assume 0.3.
_METADATA = (("a2a-version", "1.0"),)
# Message ids derived from the idempotency key: the same on every retry of a step.
_MESSAGE_IDS = uuid.UUID("5c1e3a52-8f0b-4d7e-9a61-a2a0a2a0a2a0")
_CANCEL_TIMEOUT_SECONDS = 2.0
_WORKING = {
    a2a_pb2.TASK_STATE_SUBMITTED: agent_pb2.TASK_STATE_SUBMITTED,
    a2a_pb2.TASK_STATE_WORKING: agent_pb2.TASK_STATE_WORKING,
}
_FAILED = {
    a2a_pb2.TASK_STATE_FAILED: Reason.AGENT_INTERNAL,
    a2a_pb2.TASK_STATE_REJECTED: Reason.AGENT_REJECTED,
    a2a_pb2.TASK_STATE_CANCELED: Reason.AGENT_CANCELED,
    a2a_pb2.TASK_STATE_INPUT_REQUIRED: Reason.AGENT_INPUT_REQUIRED,
    a2a_pb2.TASK_STATE_AUTH_REQUIRED: Reason.AGENT_AUTH_REQUIRED,
}
_INTERRUPTED = (a2a_pb2.TASK_STATE_INPUT_REQUIRED, a2a_pb2.TASK_STATE_AUTH_REQUIRED)


def airspace_name(a2a_name: str) -> str:
    """An A2A display name as an airspace agent name: "Glossary Agent" → "glossary-agent"."""
    return re.sub(r"[^a-z0-9]+", "-", a2a_name.lower()).strip("-")[:63]


def airspace_card(card: a2a_pb2.AgentCard) -> agent_pb2.AgentCard:
    return agent_pb2.AgentCard(
        name=airspace_name(card.name),
        version=card.version,
        description=card.description,
        skills=[
            agent_pb2.AgentSkill(
                id=skill.id,
                name=skill.name,
                description=skill.description,
                tags=skill.tags,
                examples=skill.examples,
            )
            for skill in card.skills
        ],
        input_modes=card.default_input_modes,
        output_modes=card.default_output_modes,
        capabilities=agent_pb2.AgentCapabilities(streaming=card.capabilities.streaming),
        provider=card.provider.organization,
        runtime="a2a",
    )


def a2a_message(start: agent_pb2.InvokeStart) -> a2a_pb2.Message:
    """The step as an A2A message; the run is the A2A context, the rest rides in metadata."""
    message = a2a_pb2.Message(
        message_id=str(uuid.uuid5(_MESSAGE_IDS, start.idempotency_key)),
        context_id=start.run_id,
        role=a2a_pb2.ROLE_USER,
        parts=[_a2a_part(part) for part in start.input.parts],
    )
    message.metadata.update(
        {
            "airspace": {
                "run_id": start.run_id,
                "step_key": start.step_key,
                "attempt": start.attempt,
                "idempotency_key": start.idempotency_key,
                "parameters": json_format.MessageToDict(start.parameters),
                "context": [
                    {"author": m.author, "text": _text(m.parts), "data": _data(m.parts)}
                    for m in start.context
                ],
            }
        }
    )
    return message


def _a2a_part(part: agent_pb2.Part) -> a2a_pb2.Part:
    content = part.WhichOneof("content")
    if content == "text":
        return a2a_pb2.Part(text=part.text, media_type=part.media_type)
    if content == "data":
        converted = a2a_pb2.Part(media_type=part.media_type or "application/json")
        converted.data.struct_value.CopyFrom(part.data)
        return converted
    file = part.file
    if file.WhichOneof("source") == "uri":
        return a2a_pb2.Part(url=file.uri, filename=file.name, media_type=file.media_type)
    return a2a_pb2.Part(raw=file.inline_bytes, filename=file.name, media_type=file.media_type)


def _airspace_part(part: a2a_pb2.Part) -> agent_pb2.Part:
    content = part.WhichOneof("content")
    if content == "text":
        return agent_pb2.Part(text=part.text, media_type=part.media_type or "text/plain")
    if content == "data":
        converted = agent_pb2.Part(media_type=part.media_type or "application/json")
        value = json_format.MessageToDict(part.data)
        converted.data.update(value if isinstance(value, dict) else {"value": value})
        return converted
    file = agent_pb2.FilePart(name=part.filename, media_type=part.media_type)
    if content == "url":
        file.uri = part.url
    else:
        file.inline_bytes = part.raw
    return agent_pb2.Part(file=file, media_type=part.media_type)


# An A2A message's parts, or an airspace message's: both name their oneof `content`.
Parts = Iterable[a2a_pb2.Part | agent_pb2.Part]


def _text(parts: Parts) -> str:
    return "\n".join(p.text for p in parts if p.WhichOneof("content") == "text")


def _data(parts: Parts) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in parts:
        if part.WhichOneof("content") == "data":
            value = json_format.MessageToDict(part.data)
            merged.update(value if isinstance(value, dict) else {"value": value})
    return merged


@dataclasses.dataclass
class _RemoteTask:
    """What the A2A agent has said so far about the task of one attempt."""

    author: str
    task_id: str = ""
    state: a2a_pb2.TaskState = a2a_pb2.TASK_STATE_UNSPECIFIED
    message: a2a_pb2.Message | None = None
    artifacts: dict[str, a2a_pb2.Artifact] = dataclasses.field(default_factory=dict)
    replied: bool = False
    sequence: int = 0

    async def take(self, response: a2a_pb2.StreamResponse, on_event: OnEvent) -> None:
        kind = response.WhichOneof("payload")
        if kind == "message":  # a direct answer, without a task
            self.message, self.replied = response.message, True
        elif kind == "task":
            task = response.task
            self.task_id = task.id
            self.artifacts.update({a.artifact_id: a for a in task.artifacts})
            await self._status(task.status, on_event)
        elif kind == "status_update":
            self.task_id = response.status_update.task_id
            await self._status(response.status_update.status, on_event)
        elif kind == "artifact_update":
            await self._artifact(response.artifact_update, on_event)

    async def _status(self, status: a2a_pb2.TaskStatus, on_event: OnEvent) -> None:
        self.state = status.state
        if status.HasField("message"):
            self.message = status.message
        if status.state in _WORKING:
            progress = agent_pb2.Progress(
                message=_text(status.message.parts), state=_WORKING[status.state]
            )
            await self._emit(agent_pb2.InvokeEvent(progress=progress), on_event)

    async def _artifact(self, update: a2a_pb2.TaskArtifactUpdateEvent, on_event: OnEvent) -> None:
        known = self.artifacts.get(update.artifact.artifact_id)
        if known is not None and update.append:
            known.parts.extend(update.artifact.parts)
        else:
            self.artifacts[update.artifact.artifact_id] = update.artifact
        for part in update.artifact.parts:
            partial = agent_pb2.PartialOutput(part=_airspace_part(part))
            await self._emit(agent_pb2.InvokeEvent(partial=partial), on_event)

    async def _emit(self, event: agent_pb2.InvokeEvent, on_event: OnEvent) -> None:
        self.sequence += 1
        event.sequence = self.sequence
        await on_event(event)

    def conclude(self, attempt: Attempt) -> None:
        """Sets the attempt's outcome from the task's last state."""
        if self.replied or self.state == a2a_pb2.TASK_STATE_COMPLETED:
            attempt.final = self._final()
            return
        said = _text(self.message.parts) if self.message else ""
        name = a2a_pb2.TaskState.Name(self.state).removeprefix("TASK_STATE_")
        if self.state in _FAILED:
            attempt.failure = f"the A2A task ended {name}" + (f": {said}" if said else "")
            attempt.failure_code = _FAILED[self.state]
        else:
            attempt.failure = f"out of contract: the A2A stream ended while the task was {name}"
            attempt.failure_code = Reason.CONTRACT_VIOLATION

    def _final(self) -> agent_pb2.FinalOutput:
        """The answer: the artifacts' text (else the agent's message) and their data."""
        artifact_parts = [p for a in self.artifacts.values() for p in a.parts]
        message_parts = list(self.message.parts) if self.message else []
        text = _text(artifact_parts) or _text(message_parts)
        final = agent_pb2.FinalOutput(
            message=agent_pb2.Message(
                message_id=self.message.message_id if self.message else uuid.uuid4().hex,
                role=agent_pb2.ROLE_AGENT,
                author=self.author,
                parts=[agent_pb2.Part(text=text, media_type="text/plain")] if text else [],
            ),
            artifacts=[
                agent_pb2.Artifact(
                    artifact_id=a.artifact_id,
                    name=a.name,
                    parts=[_airspace_part(p) for p in a.parts],
                )
                for a in self.artifacts.values()
            ],
        )
        final.message.create_time.GetCurrentTime()
        final.data.update({**_data(message_parts), **_data(artifact_parts)})
        return final


def _as_stream_response(response: a2a_pb2.SendMessageResponse) -> a2a_pb2.StreamResponse:
    converted = a2a_pb2.StreamResponse()
    kind = response.WhichOneof("payload")
    if kind is not None:
        getattr(converted, kind).CopyFrom(getattr(response, kind))
    return converted


class A2AAdapter:
    def __init__(self, settings: ServerSettings):
        self._settings = settings
        self._channels: dict[str, grpc.aio.Channel] = {}
        # Cards fetched at registration: the agent's name and whether it streams.
        self._cards: dict[str, agent_pb2.AgentCard] = {}

    def _stub(self, endpoint: str) -> a2a_pb2_grpc.A2AServiceStub:
        channel = self._channels.get(endpoint)
        if channel is None:
            # A2A agents are not mesh members: no mesh identity leaves the mesh.
            channel = channels.open_channel(endpoint, self._settings, send_identity=False)
            self._channels[endpoint] = channel
        return a2a_pb2_grpc.A2AServiceStub(channel)

    async def card(self, endpoint: str, timeout: float = 5.0) -> agent_pb2.AgentCard:
        try:
            found = await self._stub(endpoint).GetExtendedAgentCard(
                a2a_pb2.GetExtendedAgentCardRequest(), timeout=timeout, metadata=_METADATA
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in (
                grpc.StatusCode.FAILED_PRECONDITION,
                grpc.StatusCode.UNIMPLEMENTED,
            ):
                raise
            raise errors.FailedPrecondition(
                f"the A2A agent at {endpoint} does not serve its Agent Card over gRPC "
                f"({exc.code().name}: {exc.details()}); it must set "
                "capabilities.extended_agent_card and answer GetExtendedAgentCard",
                reason=Reason.A2A_CARD_UNAVAILABLE,
            ) from exc
        card = airspace_card(found)
        self._cards[endpoint] = card
        return card

    async def invoke(
        self, endpoint: str, start: agent_pb2.InvokeStart, timeout: float, on_event: OnEvent
    ) -> Attempt:
        began = time.monotonic()
        attempt = Attempt(duration=0.0)
        card = self._cards.get(endpoint, agent_pb2.AgentCard())
        task = _RemoteTask(author=card.name)
        stub = self._stub(endpoint)
        request = a2a_pb2.SendMessageRequest(message=a2a_message(start))
        try:
            if card.capabilities.streaming:
                async for response in stub.SendStreamingMessage(
                    request, timeout=timeout, metadata=_METADATA
                ):
                    await task.take(response, on_event)
            else:  # every A2A agent answers the blocking call; it returns the ended task
                response = await stub.SendMessage(request, timeout=timeout, metadata=_METADATA)
                await task.take(_as_stream_response(response), on_event)
            task.conclude(attempt)
        except grpc.aio.AioRpcError as exc:
            attempt.failure, attempt.failure_code = describe_rpc_error(exc, endpoint, timeout)
            attempt.retryable = exc.code() in RETRYABLE_CODES
        finally:
            attempt.duration = time.monotonic() - began
        if task.task_id and (
            task.state in _INTERRUPTED or attempt.failure_code == Reason.AGENT_TIMEOUT
        ):
            await self._cancel(stub, task.task_id)
        return attempt

    async def _cancel(self, stub: a2a_pb2_grpc.A2AServiceStub, task_id: str) -> None:
        """Best effort: an abandoned A2A task should not wait or work forever."""
        # Failing means it already ended, or the agent is gone: nothing left to stop.
        with contextlib.suppress(grpc.aio.AioRpcError):
            await stub.CancelTask(
                a2a_pb2.CancelTaskRequest(id=task_id),
                timeout=_CANCEL_TIMEOUT_SECONDS,
                metadata=_METADATA,
            )

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
