"""The JSON values a request carries (Struct, Value, parsed documents) within JSON's limits.

A Struct can hold what JSON cannot: NaN and Infinity, which no JSON document, CEL
condition or store round-trips; a YAML document can hold dates and numbers no double
holds. Both are refused, as is nesting deeper than a bound well inside what the protobuf
decoder and Python's recursion allow, with the request field named, instead of failing
somewhere downstream.
"""

from __future__ import annotations

import math
import sys
from typing import Any, cast, overload

from google.protobuf import message, struct_pb2

from airspace.mesh import errors
from airspace.mesh.reasons import Reason

# Levels of objects and lists; the protobuf decoder stops a Struct at about 33.
MAX_DEPTH = 32
# Values in one parsed document: far more than any workflow holds, few enough to walk at once.
MAX_VALUES = 100_000


def struct_dict(value: struct_pb2.Struct, field: str, max_depth: int = MAX_DEPTH) -> dict:
    """The Struct of request field `field` as a dict; INVALID_ARGUMENT naming the field
    for a number that is not finite or a value nested deeper than `max_depth`."""
    return _Reader(field, max_depth).object(value, field, 1)


def value_data(value: struct_pb2.Value, field: str, max_depth: int = MAX_DEPTH) -> Any:
    """The Value of request field `field` as plain data, with struct_dict's checks."""
    return _Reader(field, max_depth).value(value, field, 0)


@overload
def plain(value: struct_pb2.Struct) -> dict[str, Any]: ...
@overload
def plain(value: struct_pb2.ListValue) -> list[Any]: ...
@overload
def plain(value: message.Message) -> Any: ...
def plain(value: message.Message) -> Any:
    """A JSON value the mesh already holds (a Struct, ListValue or Value, not a request's)
    as plain data: what json_format.MessageToDict gives, a ValueError for a number JSON
    cannot hold included, at a quarter of its cost (it walks the fields without the
    printer's generality, and tells the three apart by name: isinstance is slow on them)."""
    kind = value.DESCRIPTOR.full_name
    if kind == "google.protobuf.Struct":
        fields = cast(struct_pb2.Struct, value).fields
        return {key: _plain(item) for key, item in fields.items()}
    if kind == "google.protobuf.ListValue":
        return [_plain(item) for item in cast(struct_pb2.ListValue, value).values]
    if kind == "google.protobuf.Value":
        return _plain(cast(struct_pb2.Value, value))
    raise TypeError(f"{kind} is not a JSON value")


def _plain(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "struct_value":
        return {key: _plain(item) for key, item in value.struct_value.fields.items()}
    if kind == "list_value":
        return [_plain(item) for item in value.list_value.values]
    if kind == "number_value":
        if not math.isfinite(value.number_value):
            raise ValueError(f"{value.number_value} is a number JSON cannot hold")
        return value.number_value
    if kind == "bool_value":
        return value.bool_value
    return None  # null_value, or no kind set


def check_json(value: Any, field: str, max_depth: int = MAX_DEPTH) -> None:
    """The same limits on a parsed document (YAML, JSON) before it becomes a Struct, and
    only what JSON holds: objects with text keys, lists, text, finite numbers, booleans,
    at most MAX_VALUES of them (YAML aliases repeat a value without repeating its text)."""
    pending, seen = [(value, field, 0)], 0
    while pending:  # iteratively: a hostile document must not exhaust the stack
        item, path, depth = pending.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise errors.InvalidArgument(
                f"{field} holds more than {MAX_VALUES} values", field=field
            )
        if isinstance(item, dict | list):
            _check_depth(field, path, depth + 1, max_depth)
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            pending.extend((child, _child(path, key), depth + 1) for key, child in pairs)
            if isinstance(item, dict) and not all(isinstance(key, str) for key in item):
                raise _not_json(field, path, "an object whose keys are not all text")
        elif isinstance(item, float) and not math.isfinite(item):
            raise _not_json(field, path, f"{item}, a number JSON cannot hold")
        elif isinstance(item, int) and abs(item) > sys.float_info.max:
            raise _not_json(field, path, "a number too large for JSON")
        elif not isinstance(item, str | int | float | bool | type(None)):
            raise _not_json(field, path, f"a {type(item).__name__}, which JSON cannot hold")


class _Reader:
    def __init__(self, field: str, max_depth: int):
        self.field = field
        self.max_depth = max_depth

    def object(self, value: struct_pb2.Struct, path: str, depth: int) -> dict:
        _check_depth(self.field, path, depth, self.max_depth)
        return {
            key: self.value(item, _child(path, key), depth) for key, item in value.fields.items()
        }

    def value(self, value: struct_pb2.Value, path: str, depth: int) -> Any:
        kind = value.WhichOneof("kind")
        if kind == "struct_value":
            return self.object(value.struct_value, path, depth + 1)
        if kind == "list_value":
            _check_depth(self.field, path, depth + 1, self.max_depth)
            return [
                self.value(item, _child(path, index), depth + 1)
                for index, item in enumerate(value.list_value.values)
            ]
        if kind == "number_value":
            if not math.isfinite(value.number_value):
                raise _not_json(
                    self.field, path, f"{value.number_value}, a number JSON cannot hold"
                )
            return value.number_value
        if kind in ("string_value", "bool_value"):
            return getattr(value, kind)
        return None


def _child(path: str, key: object) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"


def _check_depth(field: str, path: str, depth: int, max_depth: int) -> None:
    if depth > max_depth:
        raise errors.InvalidArgument(
            f"{field} is nested more than {max_depth} levels deep (at {path})",
            field=field,
            reason=Reason.TOO_DEEP,
        )


def _not_json(field: str, path: str, what: str) -> errors.InvalidArgument:
    return errors.InvalidArgument(f"{path} is {what}", field=field)
