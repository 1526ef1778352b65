"""The agent contract as rules over messages (no gRPC here): each returns what breaks it."""

from __future__ import annotations

import re
from collections.abc import Sequence

from google.protobuf import json_format

from airspace.agent.v1 import agent_pb2
from airspace.router.spec import NAME_PATTERN  # the names the registry accepts

TERMINAL = ("final", "handoff", "error")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:[-+][\w.+-]+)?$")
_MEDIA_TYPE = re.compile(r"^[\w.+-]+/[\w.+*-]+$")
_WORKING_STATES = (
    agent_pb2.TASK_STATE_UNSPECIFIED,
    agent_pb2.TASK_STATE_SUBMITTED,
    agent_pb2.TASK_STATE_WORKING,
    agent_pb2.TASK_STATE_INPUT_REQUIRED,
)


def card_problems(card: agent_pb2.AgentCard) -> tuple[list[str], list[str]]:
    """(errors, warnings) of an AgentCard."""
    errors, warnings = [], []
    if not NAME_PATTERN.match(card.name):
        errors.append(
            f"name {card.name!r} must be 1-63 lowercase letters, digits and '-', starting with a letter"
        )
    if not card.version:
        errors.append("version is empty")
    elif not _SEMVER.match(card.version):
        warnings.append(f"version {card.version!r} is not a semantic version (1.2.3)")
    if not card.description:
        warnings.append("description is empty: operators read it in `airspace agents show`")
    if not card.skills:
        errors.append("skills is empty: list at least one skill")
    ids = [skill.id for skill in card.skills]
    for index, skill in enumerate(card.skills):
        if not skill.id or not skill.name:
            errors.append(f"skills[{index}] needs an id and a name")
    duplicates = sorted({i for i in ids if i and ids.count(i) > 1})
    if duplicates:
        errors.append(f"skill ids must be unique; repeated: {', '.join(duplicates)}")
    for field in ("input_modes", "output_modes"):
        modes = list(getattr(card, field))
        if not modes:
            errors.append(f"{field} is empty: list the media types, e.g. text/plain")
        bad = [mode for mode in modes if not _MEDIA_TYPE.match(mode)]
        if bad:
            errors.append(f"{field} has values that are not media types: {', '.join(bad)}")
    if agent_pb2.DATA_CLASS_UNSPECIFIED in card.clearances:
        errors.append("clearances lists DATA_CLASS_UNSPECIFIED")
    if not card.runtime:
        warnings.append("runtime is empty (e.g. python, node, go)")
    return errors, warnings


def stream_problems(
    events: Sequence[agent_pb2.InvokeEvent], *, cancelled: bool = False
) -> list[str]:
    """Numbering from 1 without gaps, a kind on every event, exactly one terminal event, last."""
    problems = []
    terminal_at = None
    for index, event in enumerate(events):
        kind = event.WhichOneof("kind")
        if event.sequence != index + 1:
            problems.append(
                f"event {index + 1} has sequence {event.sequence}, expected {index + 1}"
            )
        if kind is None:
            problems.append(f"event #{event.sequence} has no kind set")
        if terminal_at is not None:
            problems.append(
                f"event #{event.sequence} ({kind}) came after the terminal event #{terminal_at}"
            )
        elif kind in TERMINAL:
            terminal_at = event.sequence
    if terminal_at is None and not cancelled:
        problems.append("the stream ended without a terminal event (final, handoff or error)")
    return problems


def event_problems(
    events: Sequence[agent_pb2.InvokeEvent], card: agent_pb2.AgentCard
) -> tuple[list[str], list[str]]:
    """(errors, warnings) in the contents of events, and events the card did not announce."""
    errors, warnings = [], []
    for event in events:
        kind, where = event.WhichOneof("kind"), f"#{event.sequence}"
        if kind == "progress":
            if not 0.0 <= event.progress.fraction <= 1.0:
                errors.append(f"{where} progress fraction {event.progress.fraction} is not in 0..1")
            if event.progress.state not in _WORKING_STATES:
                state = agent_pb2.TaskState.Name(event.progress.state)
                warnings.append(
                    f"{where} progress reports {state}: end with a terminal event instead"
                )
        elif kind == "usage":
            usage = event.usage
            if min(usage.input_tokens, usage.output_tokens, usage.cost_micros) < 0:
                errors.append(f"{where} usage has negative values")
        elif kind == "partial" and not card.capabilities.streaming:
            warnings.append(f"{where} partial output, but the card does not declare streaming")
        elif kind == "action_request" and not card.capabilities.actions:
            warnings.append(f"{where} action request, but the card does not declare actions")
        elif kind == "handoff" and not card.capabilities.handoff:
            warnings.append(f"{where} handoff, but the card does not declare handoff")
        elif kind == "final":
            final_errors, final_warnings = final_problems(event.final, card.name)
            errors += [f"{where} {p}" for p in final_errors]
            warnings += [f"{where} {p}" for p in final_warnings]
    return errors, warnings


def final_problems(final: agent_pb2.FinalOutput, agent: str) -> tuple[list[str], list[str]]:
    errors, warnings = [], []
    if final.HasField("confidence") and not 0.0 <= final.confidence <= 1.0:
        errors.append(f"confidence {final.confidence} is not in 0..1")
    if not (final.message.parts or final.data.fields or final.artifacts):
        errors.append("the final output is empty: no message parts, data or artifacts")
    if final.message.parts and final.message.role != agent_pb2.ROLE_AGENT:
        warnings.append("the final message's role should be ROLE_AGENT")
    if final.message.parts and final.message.author != agent:
        warnings.append(f"the final message's author should be the agent's name {agent!r}")
    return errors, warnings


def handoff_problems(handoff: agent_pb2.HandoffRequest, allowed: Sequence[str]) -> list[str]:
    problems = []
    if handoff.target not in allowed:
        problems.append(
            f"target {handoff.target!r} is not one of the allowed_handoffs {list(allowed)}"
        )
    if not handoff.reason:
        problems.append("reason is empty: say why, it is recorded for operators")
    if not (handoff.message.parts or handoff.data.fields):
        problems.append("neither message nor data is set: the target gets nothing to work on")
    return problems


def action_request_problems(
    request: agent_pb2.ActionRequest, allowed: Sequence[str], seen_ids: set[str]
) -> list[str]:
    problems = []
    if not request.action_id:
        problems.append("action_id is empty")
    elif request.action_id in seen_ids:
        problems.append(f"action_id {request.action_id!r} was already used in this stream")
    if request.name not in allowed:
        problems.append(f"name {request.name!r} is not one of the allowed_actions {list(allowed)}")
    return problems


def output_of(final: agent_pb2.FinalOutput) -> dict:
    """What a final output says, without ids and timestamps that differ between runs."""
    return {
        "text": [p.text for p in final.message.parts if p.WhichOneof("content") == "text"],
        "data": json_format.MessageToDict(final.data),
        "artifacts": [
            json_format.MessageToDict(part)
            for artifact in final.artifacts
            for part in artifact.parts
        ],
        "confidence": final.confidence if final.HasField("confidence") else None,
    }
