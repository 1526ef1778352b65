"""A2A ⇄ Airspace runs, as plain translations (no gRPC here).

An A2A message becomes a run's input: its text parts as "text", its data parts' fields
beside it. A run's events become what the A2A task says: working states with a short
status message, the run's output as the task's artifact, and the run's end as the task's
end (COMPLETED, FAILED or CANCELED)."""

from __future__ import annotations

import dataclasses

from a2a.types import a2a_pb2
from google.protobuf import json_format

from airspace.v1 import run_pb2

_ENDS = {
    run_pb2.RUN_STATE_COMPLETED: a2a_pb2.TASK_STATE_COMPLETED,
    run_pb2.RUN_STATE_FAILED: a2a_pb2.TASK_STATE_FAILED,
    run_pb2.RUN_STATE_CANCELED: a2a_pb2.TASK_STATE_CANCELED,
}


@dataclasses.dataclass(frozen=True)
class Update:
    """What one run event changes in the A2A task: a new state (UNSPECIFIED: none) with a
    status message, or the run's output."""

    state: a2a_pb2.TaskState = a2a_pb2.TASK_STATE_UNSPECIFIED
    text: str = ""
    output: dict | None = None


def run_request(message: a2a_pb2.Message, workflow: str, task_id: str) -> run_pb2.ExecuteRunRequest:
    """The run for an A2A message; the message id makes a resent message join the same run."""
    run_input: dict = {}
    for part in message.parts:
        if part.WhichOneof("content") == "data":
            value = json_format.MessageToDict(part.data)
            run_input.update(value if isinstance(value, dict) else {"value": value})
    text = "\n".join(p.text for p in message.parts if p.WhichOneof("content") == "text")
    if text:
        run_input["text"] = text
    request = run_pb2.ExecuteRunRequest(
        workflow=workflow,
        request_id=f"a2a-{message.message_id}",
        labels={"a2a_task_id": task_id, "a2a_context_id": message.context_id},
    )
    request.input.update(run_input)
    return request


def update_for(event: run_pb2.RunEvent) -> Update:
    kind = event.WhichOneof("kind")
    working = a2a_pb2.TASK_STATE_WORKING
    if kind == "run_state_changed":
        change = event.run_state_changed
        if change.to in _ENDS:
            return Update(_ENDS[change.to], change.error.message or change.reason)
        if change.to == run_pb2.RUN_STATE_WAITING_APPROVAL:
            return Update(working, "waiting for a human approval")
        state = run_pb2.RunState.Name(change.to).removeprefix("RUN_STATE_").lower()
        return Update(working, f"run {event.run_id} is {state}")
    if kind == "step_started":
        started = event.step_started
        step = started.step_name or event.agent
        return Update(working, f"{step}: {event.agent} is working (attempt {started.attempt})")
    if kind == "agent_progress":
        return Update(working, f"{event.agent}: {event.agent_progress.progress.message}")
    if kind == "step_completed":
        step = event.step_completed.step_name or event.agent
        return Update(working, f"{step}: {event.agent} is done")
    if kind == "handoff" and event.handoff.accepted:
        return Update(working, f"{event.handoff.from_agent} handed off to {event.handoff.to_agent}")
    if kind == "approval_requested":
        return Update(working, f"waiting for approval: {event.approval_requested.summary}")
    if kind == "run_output":
        return Update(output=json_format.MessageToDict(event.run_output.output))
    return Update()


def output_parts(output: dict) -> list[a2a_pb2.Part]:
    """The run's output as an artifact's parts: its text, and everything else as data."""
    parts = []
    if output.get("text"):
        parts.append(a2a_pb2.Part(text=output["text"], media_type="text/plain"))
    rest = {key: value for key, value in output.items() if key != "text"}
    if rest:
        part = a2a_pb2.Part(media_type="application/json")
        part.data.struct_value.update(rest)
        parts.append(part)
    return parts
