"""Which payloads leave a record, how the row references them, and how reads put them
back (rules/payloads.py)."""

from __future__ import annotations

import json

import pytest

from airspace.mesh import errors
from airspace.state.rules import payloads
from airspace.state.rules.payloads import EVENT_FIELDS, RUN_FIELDS
from airspace.state.settings import StateSettings
from airspace.v1 import run_pb2

pytestmark = pytest.mark.unit

LIMIT = 100


def transcript_event(text: str) -> run_pb2.RunEvent:
    event = run_pb2.RunEvent(run_id="r1", sequence=3)
    event.transcript_message.author = "writer"
    event.transcript_message.parts.add().text = text
    return event


def test_a_record_without_large_payloads_is_stored_as_it_is():
    run = run_pb2.Run(run_id="r1")
    run.input.update({"text": "short"})
    stored = payloads.split(run, RUN_FIELDS, LIMIT)
    assert (stored.data, stored.refs, stored.payloads) == (run.SerializeToString(), None, {})
    assert payloads.join(run_pb2.Run, stored.data, stored.refs, {}) == run


def test_a_large_field_leaves_the_record_and_comes_back_on_join():
    run = run_pb2.Run(run_id="r1")
    run.input.update({"text": "short"})
    run.output.update({"text": "y" * 500})
    stored = payloads.split(run, RUN_FIELDS, LIMIT)
    (digest,) = stored.payloads
    assert json.loads(stored.refs or "") == {"output": digest}
    assert not run_pb2.Run.FromString(stored.data).HasField("output")
    assert run.HasField("output")  # the caller's record is left as it was
    assert payloads.join(run_pb2.Run, stored.data, stored.refs, stored.payloads) == run


def test_a_large_oneof_member_comes_back_set():
    event = transcript_event("z" * 500)
    stored = payloads.split(event, EVENT_FIELDS, LIMIT)
    assert run_pb2.RunEvent.FromString(stored.data).WhichOneof("kind") is None
    joined = payloads.join(run_pb2.RunEvent, stored.data, stored.refs, stored.payloads)
    assert joined == event and joined.WhichOneof("kind") == "transcript_message"


def test_equal_documents_have_one_digest_whatever_their_key_order():
    first, second = run_pb2.Run(), run_pb2.Run()
    first.output.update({"a": "x" * 200, "b": "y" * 200})
    second.output.update({"b": "y" * 200, "a": "x" * 200})
    assert (
        payloads.split(first, RUN_FIELDS, LIMIT).payloads.keys()
        == payloads.split(second, RUN_FIELDS, LIMIT).payloads.keys()
    )


def test_the_rows_of_many_tenants_want_each_payload_once():
    refs = json.dumps({"input": "d1", "output": "d2"})
    rows = [("acme", refs), ("acme", json.dumps({"input": "d1"})), ("globex", refs), ("x", None)]
    assert payloads.wanted(rows) == [
        ("acme", "d1"),
        ("acme", "d2"),
        ("globex", "d1"),
        ("globex", "d2"),
    ]


def test_a_missing_payload_is_an_internal_error_naming_it():
    with pytest.raises(errors.Internal) as missing:
        payloads.join(run_pb2.Run, b"", json.dumps({"output": "d1"}), {})
    assert "d1" in missing.value.message


def test_a_negative_threshold_is_refused_naming_the_setting():
    with pytest.raises(errors.InvalidArgument) as refused:
        StateSettings(payload_inline_bytes=-1)
    assert "payload_inline_bytes" in refused.value.message
