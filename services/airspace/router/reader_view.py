"""What a person reads of runs (their input, output, events and trace) and of approvals:
masked by policy for the data classes the reader's roles are cleared for, the way an
agent's input is masked for the clearances on its card.

The public services pass every result through here on its way out; what is stored stays
as it was. The reader is the verified caller (`identity.require()`), never a header. A
result holding PII costs one policy check (`run.read` or `approval.read`, audited like
every decision) whose mask obligations are carried out here; a result with nothing the
scanner finds has nothing policy could mask, and the caller's authorization check has
already decided the read. Most of what is scanned here (a step's output, judged at
step.output) the scanner has seen before: finding it again is a lookup (engine/pii/memo.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from google.protobuf import json_format, message
from google.protobuf.descriptor import FieldDescriptor

from airspace.mesh import errors, identity, json_values
from airspace.mesh.reasons import Reason
from airspace.policy.engine.model import Resource
from airspace.policy.engine.pii.scan import scan_json
from airspace.router.guard import Guard, Judgement, subject_of
from airspace.trace.v1 import trace_pb2
from airspace.v1 import approval_pb2, run_pb2

# The fields of each resource that carry what clients, agents and people wrote; the rest
# (ids, names, states, times, counts) is the mesh's own bookkeeping.
_RUN = ("input", "output", "error")
_APPROVAL = ("summary", "evidence", "payload", "comment", "edited_payload")
_SPAN = ("name", "status_message", "attributes", "events")
# Events the router writes about its own work, holding nothing anyone else wrote (a
# routing decision's reason may quote an agent or an approver, so it is not one of them).
_BOOKKEEPING = frozenset({"step_started", "guardrail_verdict", "lease_taken_over"})

_TIMES = frozenset({"google.protobuf.Timestamp", "google.protobuf.Duration"})
_JSON_VALUES = frozenset(
    {"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"}
)

M = TypeVar("M", bound=message.Message)


class ReaderView:
    def __init__(self, guard: Guard) -> None:
        self._guard = guard

    async def run(self, run: run_pb2.Run) -> run_pb2.Run:
        [masked] = await self._masked("run.read", "run", [run], _RUN, run.run_id)
        return masked

    async def runs(self, runs: Sequence[run_pb2.Run]) -> list[run_pb2.Run]:
        return await self._masked("run.read", "run", runs, _RUN)

    async def event(self, event: run_pb2.RunEvent) -> run_pb2.RunEvent:
        kind = event.WhichOneof("kind")
        if kind is None or kind in _BOOKKEEPING:
            return event
        [masked] = await self._masked("run.read", "run", [event], (kind,), event.run_id)
        return masked

    async def spans(self, run_id: str, spans: Sequence[trace_pb2.Span]) -> list[trace_pb2.Span]:
        return await self._masked("run.read", "run", spans, _SPAN, run_id)

    async def approval(self, approval: approval_pb2.Approval) -> approval_pb2.Approval:
        [masked] = await self.approvals([approval])
        return masked

    async def approvals(
        self, approvals: Sequence[approval_pb2.Approval]
    ) -> list[approval_pb2.Approval]:
        run_ids = {approval.run_id for approval in approvals}
        run_id = run_ids.pop() if len(run_ids) == 1 else ""
        return await self._masked("approval.read", "approval", approvals, _APPROVAL, run_id)

    async def _masked(
        self,
        checkpoint: str,
        kind: str,
        items: Sequence[M],
        fields: tuple[str, ...],
        run_id: str = "",
    ) -> list[M]:
        if not scan_json([_texts(item, fields) for item in items]):
            return list(items)
        contents = [_content(item, fields) for item in items]
        caller = identity.require()
        resource = Resource(kind=kind, name=run_id, tenant=caller.tenant)
        judged = await self._guard.judge(
            checkpoint, subject_of(caller), resource, {"items": contents}, run_id=run_id
        )
        if not judged.allowed:
            raise _refusal(caller, judged)
        masked = judged.payload["items"]
        return [_with_content(item, fields, c) for item, c in zip(items, masked, strict=True)]


def _texts(item: message.Message, fields: tuple[str, ...] = ()) -> list[Any]:
    """The text a message holds (of `fields`, when named): its strings, and its JSON
    values and maps whole, without what holds no text (numbers, enums, times) or the
    message's own field names. Scanning this finds what scanning its JSON form would
    (entities split across sibling strings included), at a fraction of the cost."""
    return [
        _texts_of(field, value)
        for field, value in item.ListFields()
        if (not fields or field.name in fields) and _holds_text(field)
    ]


def _holds_text(field: FieldDescriptor) -> bool:
    if field.type == FieldDescriptor.TYPE_STRING:
        return True
    kind = field.message_type  # None for numbers, enums, bytes
    return kind is not None and kind.full_name not in _TIMES


def _texts_of(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_STRING:
        return list(value) if field.is_repeated else value
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        return {key: _text_of(item) for key, item in value.items()}
    if field.is_repeated:
        return [_text_of(item) for item in value]
    return _text_of(value)


def _text_of(value: Any) -> Any:
    if not isinstance(value, message.Message):
        return value  # a map's value
    if value.DESCRIPTOR.full_name in _JSON_VALUES:
        return json_values.plain(value)
    return _texts(value)


def _content(item: message.Message, fields: tuple[str, ...]) -> dict[str, Any]:
    form = json_format.MessageToDict(item, preserving_proto_field_name=True)
    return {field: form[field] for field in fields if field in form}


def _with_content(item: M, fields: tuple[str, ...], content: dict[str, Any]) -> M:
    masked = type(item)()
    masked.CopyFrom(item)
    for field in fields:
        masked.ClearField(field)
    json_format.ParseDict(content, masked)
    return masked


def _refusal(caller: identity.Identity, judged: Judgement) -> errors.MeshError:
    """Nothing is shown unmasked: a read policy refused or could not decide fails."""
    if judged.unavailable:
        return errors.Unavailable(
            "policy cannot be reached to mask what you read; try again", retry_after=1.0
        )
    return errors.PermissionDenied(
        f"{caller.principal} may not read this ({judged.explain()})", reason=Reason.POLICY_DENIED
    )
