"""The mesh kit's limits on what a request carries: error texts cut short, JSON values
within JSON (finite, not too deep, not too many), times within protobuf's ranges."""

from __future__ import annotations

import datetime

import pytest
from google.protobuf import duration_pb2, json_format, struct_pb2, timestamp_pb2

from airspace.mesh import errors, json_values, time_values

pytestmark = pytest.mark.unit


def test_an_error_cuts_a_long_id_but_keeps_the_sentence_around_it():
    error = errors.NotFound(f"memory key {'k' * 10_000!r} not found in {'n' * 300!r}")
    assert len(error.message) < 250
    assert error.message.startswith("memory key 'kkk") and error.message.endswith("nnn'")
    assert error.message.count("…") == 2 and " not found in " in error.message


def test_every_text_of_an_error_is_bounded():
    huge = "word " * 100_000
    error = errors.InvalidArgument(huge, field="x" * 5000, metadata={"agent": "a" * 5000})
    status = error.to_status()
    assert len(status.SerializeToString()) < 4 * errors.MAX_TEXT_CHARS
    assert len(error.message) <= errors.MAX_TEXT_CHARS
    [(field, description)] = error.violations
    assert len(field) <= errors.MAX_WORD_CHARS and len(description) <= errors.MAX_TEXT_CHARS
    assert len(error.metadata["agent"]) <= errors.MAX_WORD_CHARS


def test_a_short_message_is_left_as_it_is():
    assert errors.NotFound("run 'r-1' not found").message == "run 'r-1' not found"


def nested(levels: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"n": value}
    return value


def test_a_struct_reads_as_protobuf_reads_it_within_the_limits():
    value = struct_pb2.Struct()
    value.update({"a": [1, "two", None, True, {"b": 2.5}], "c": nested(json_values.MAX_DEPTH - 1)})
    assert json_values.struct_dict(value, "input") == json_format.MessageToDict(value)


def test_a_held_value_reads_plain_as_protobuf_prints_it():
    value = struct_pb2.Struct()
    value.update({"a": [1, "two", None, True, {"b": 2.5, "c": []}], "d": {}, "e": nested(40)})
    assert json_values.plain(value) == json_format.MessageToDict(value)
    assert json_values.plain(value["a"]) == json_format.MessageToDict(value["a"])
    assert json_values.plain(value.fields["d"]) == {}
    with pytest.raises(TypeError, match="Duration is not a JSON value"):
        json_values.plain(duration_pb2.Duration())


def test_a_held_number_json_cannot_hold_fails_to_read_plain():
    value = struct_pb2.Struct()
    value.update({"a": [0, {"b": float("nan")}]})
    with pytest.raises(ValueError, match="nan is a number JSON cannot hold"):
        json_values.plain(value)


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_a_number_json_cannot_hold_is_refused_with_its_path(number):
    value = struct_pb2.Struct()
    value.update({"a": [0, {"b": number}]})
    with pytest.raises(errors.InvalidArgument) as refused:
        json_values.struct_dict(value, "input")
    assert refused.value.violations == [
        ("input", f"input.a[1].b is {number}, a number JSON cannot hold")
    ]


def test_a_value_deeper_than_the_limit_is_refused_as_too_deep():
    value = struct_pb2.Value()
    value.struct_value.update(nested(json_values.MAX_DEPTH + 1))
    with pytest.raises(errors.InvalidArgument) as refused:
        json_values.value_data(value, "value")
    assert refused.value.reason == "TOO_DEEP"
    assert refused.value.message.startswith("value is nested more than 32 levels deep")


@pytest.mark.parametrize(
    ("document", "said"),
    [
        ({"when": datetime.date(2024, 1, 1)}, "source.when is a date"),
        ({"n": [10**400]}, "source.n[0] is a number too large for JSON"),
        ({1: "one"}, "source is an object whose keys are not all text"),
        ({"x": float("inf")}, "source.x is inf"),
        (nested(40), "source is nested more than 32 levels deep"),
    ],
)
def test_a_parsed_document_must_hold_only_what_json_holds(document, said):
    with pytest.raises(errors.InvalidArgument) as refused:
        json_values.check_json(document, "source")
    assert refused.value.message.startswith(said)


def test_a_document_that_repeats_one_value_many_times_is_refused():
    # What YAML aliases build: a few lines of text, 10**8 values to walk.
    shared: list = ["x"] * 10
    for _ in range(7):
        shared = [shared] * 10
    with pytest.raises(errors.InvalidArgument) as refused:
        json_values.check_json({"a": shared}, "source")
    assert refused.value.message == f"source holds more than {json_values.MAX_VALUES} values"


@pytest.mark.parametrize(
    ("seconds", "nanos"),
    [(2**62, 0), (-(2**62), 0), (time_values.LATEST_SECONDS + 1, 0), (0, -1), (0, 10**9)],
)
def test_a_timestamp_outside_protobufs_range_is_refused_naming_the_field(seconds, nanos):
    with pytest.raises(errors.InvalidArgument) as refused:
        time_values.timestamp_micros(timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos), "t")
    assert [field for field, _ in refused.value.violations] == ["t"]


def test_the_range_of_a_timestamp_ends_where_protobuf_says():
    for seconds in (time_values.EARLIEST_SECONDS, time_values.LATEST_SECONDS):
        value = timestamp_pb2.Timestamp(seconds=seconds, nanos=999_999_999)
        assert time_values.timestamp_micros(value, "t") == value.ToMicroseconds()


@pytest.mark.parametrize(
    ("seconds", "nanos"),
    [(2**62, 0), (time_values.MAX_DURATION_SECONDS + 1, 0), (5, -1), (-5, 1), (0, 10**9)],
)
def test_a_duration_outside_protobufs_range_is_refused_naming_the_field(seconds, nanos):
    with pytest.raises(errors.InvalidArgument) as refused:
        time_values.duration_seconds(duration_pb2.Duration(seconds=seconds, nanos=nanos), "ttl")
    assert [field for field, _ in refused.value.violations] == ["ttl"]


def test_a_duration_in_range_is_its_seconds():
    value = duration_pb2.Duration(seconds=-2, nanos=-500_000_000)
    assert time_values.duration_seconds(value, "ttl") == -2.5
