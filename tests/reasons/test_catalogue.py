"""The catalogue: the Python Reason is the proto enum, each reason is explained, and a
failed run's error carries its reason for any client to read."""

from __future__ import annotations

import pytest
from google.rpc import code_pb2, error_details_pb2, status_pb2

from airspace.mesh import reasons
from airspace.mesh.errors import ERROR_DOMAIN
from airspace.mesh.reasons import Reason, reason_of
from airspace.router.run_errors import failure_status
from airspace.v1 import reasons_pb2

pytestmark = pytest.mark.unit


def test_the_python_reasons_are_the_proto_enum_values_but_its_zero():
    names = [v.name for v in reasons_pb2.ErrorReason.DESCRIPTOR.values]
    assert names[0] == "ERROR_REASON_UNSPECIFIED"
    assert [r.value for r in Reason] == names[1:]
    assert Reason.BUDGET_EXCEEDED == "BUDGET_EXCEEDED"


def test_every_reason_says_what_it_means_its_cause_and_what_to_do():
    explained = reasons.explanations()
    assert list(explained) == list(Reason)
    for reason, said in explained.items():
        assert said.meaning and said.cause and said.action, reason
        assert "Cause:" not in said.meaning and "Do:" not in said.cause, reason
    hops = reasons.explain(Reason.HOP_LIMIT)
    assert hops.meaning == "A handoff run reached its workflow's limit of handoff hops."
    assert hops.cause == "Agents passing the task on without finishing it."


def test_parse_knows_only_catalogued_reasons():
    assert reasons.parse("HANDOFF_LOOP") is Reason.HANDOFF_LOOP
    assert reasons.parse("NOT_FOUND") is None and reasons.parse("") is None


def test_a_failed_runs_error_carries_its_reason_where_and_kind():
    status = failure_status(Reason.BUDGET_EXCEEDED, "used 5 of 5 steps", "s0005-draft", "writer")
    assert status.code == code_pb2.RESOURCE_EXHAUSTED
    assert status.message == "BUDGET_EXCEEDED at step s0005-draft: used 5 of 5 steps"
    [detail] = status.details
    info = error_details_pb2.ErrorInfo()
    assert detail.Unpack(info)
    assert (info.reason, info.domain) == ("BUDGET_EXCEEDED", ERROR_DOMAIN)
    assert dict(info.metadata) == {"step_key": "s0005-draft", "agent": "writer"}
    assert reason_of(status) is Reason.BUDGET_EXCEEDED
    assert failure_status(Reason.HANDOFF_LOOP, "a → b → a").code == code_pb2.ABORTED


def test_the_reason_of_an_error_without_error_info_is_read_from_its_message():
    recorded = status_pb2.Status(code=code_pb2.ABORTED, message="HOP_LIMIT at step s0003-a: 3 hops")
    assert reason_of(recorded) is Reason.HOP_LIMIT
    step = status_pb2.Status(code=code_pb2.UNKNOWN, message="AGENT_TIMEOUT: no answer in 5.0s")
    assert reason_of(step) is Reason.AGENT_TIMEOUT
    canceled = status_pb2.Status(code=code_pb2.CANCELLED, message="canceled by ada: not needed")
    assert reason_of(canceled) is None
