"""Conversions between protobuf messages and the plain data the router reasons about."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from google.protobuf import duration_pb2, struct_pb2

from airspace.agent.v1 import agent_pb2
from airspace.mesh import json_values


def to_struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(value)
    return result


def to_dict(value: struct_pb2.Struct) -> dict[str, Any]:
    return json_values.plain(value)


def to_duration(seconds: float) -> duration_pb2.Duration:
    value = duration_pb2.Duration()
    value.FromNanoseconds(int(seconds * 1e9))
    return value


def message_text(message: agent_pb2.Message) -> str:
    return "\n".join(part.text for part in message.parts if part.HasField("text"))


def build_message(
    role: agent_pb2.Role, author: str, text: str = "", data: Mapping[str, Any] | None = None
) -> agent_pb2.Message:
    parts = []
    if text:
        parts.append(agent_pb2.Part(text=text, media_type="text/plain"))
    if data:
        parts.append(agent_pb2.Part(data=to_struct(data), media_type="application/json"))
    message = agent_pb2.Message(message_id=uuid.uuid4().hex, role=role, author=author, parts=parts)
    message.create_time.GetCurrentTime()
    return message
