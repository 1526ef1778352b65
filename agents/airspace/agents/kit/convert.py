"""Translation between the agent protos and the plain Python values handlers work with."""

from __future__ import annotations

import uuid

from google.protobuf import json_format, struct_pb2

from airspace.agent.v1 import agent_pb2
from airspace.agents.kit.outcomes import Artifact, Handoff, Reply


def to_dict(struct: struct_pb2.Struct) -> dict:
    # Struct numbers are doubles: 30 comes back as 30.0.
    return json_format.MessageToDict(struct)


def to_struct(values: dict | None) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    if values:
        struct.update(values)
    return struct


def text_of(message: agent_pb2.Message) -> str:
    return "\n".join(part.text for part in message.parts if part.WhichOneof("content") == "text")


def data_of(message: agent_pb2.Message) -> dict:
    """The message's data parts merged in order; a later part wins on a shared key."""
    merged: dict = {}
    for part in message.parts:
        if part.WhichOneof("content") == "data":
            merged.update(to_dict(part.data))
    return merged


def agent_message(author: str, text: str) -> agent_pb2.Message:
    message = agent_pb2.Message(
        message_id=uuid.uuid4().hex, role=agent_pb2.ROLE_AGENT, author=author
    )
    if text:
        message.parts.append(agent_pb2.Part(text=text, media_type="text/plain"))
    message.create_time.GetCurrentTime()
    return message


def final_event(author: str, reply: Reply) -> agent_pb2.InvokeEvent:
    final = agent_pb2.FinalOutput(
        message=agent_message(author, reply.text),
        artifacts=[_artifact(artifact) for artifact in reply.artifacts],
        data=to_struct(reply.data),
    )
    if reply.confidence is not None:
        final.confidence = reply.confidence
    return agent_pb2.InvokeEvent(final=final)


def handoff_event(author: str, handoff: Handoff) -> agent_pb2.InvokeEvent:
    return agent_pb2.InvokeEvent(
        handoff=agent_pb2.HandoffRequest(
            target=handoff.target,
            reason=handoff.reason,
            message=agent_message(author, handoff.text),
            data=to_struct(handoff.data),
        )
    )


def _artifact(artifact: Artifact) -> agent_pb2.Artifact:
    if artifact.text is not None:
        part = agent_pb2.Part(text=artifact.text, media_type=artifact.media_type or "text/plain")
    elif artifact.data is not None:
        part = agent_pb2.Part(
            data=to_struct(artifact.data), media_type=artifact.media_type or "application/json"
        )
    else:
        part = agent_pb2.Part(
            file=agent_pb2.FilePart(
                name=artifact.name, media_type=artifact.media_type, uri=artifact.uri
            ),
            media_type=artifact.media_type,
        )
    return agent_pb2.Artifact(artifact_id=uuid.uuid4().hex, name=artifact.name, parts=[part])
