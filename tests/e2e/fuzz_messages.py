"""Random and extreme requests for any protobuf method, built from its descriptors.

A request is bytes: a message whose fields hold extreme values (huge strings, 10k-char
ids, NaN and Infinity in Struct and double fields, timestamps of +-2**62 s, negative page
sizes, deep nesting, unknown enum numbers), that message with invalid UTF-8 where a string
field's text was, a valid message with flipped bytes, or plain random bytes. Each request
has a wildness: the share of its values that are extreme, the rest plausible (names that
exist in the mesh, small numbers), so some requests get past the first check.
"""

from __future__ import annotations

import random

from google.protobuf import descriptor, message, message_factory
from google.protobuf.descriptor import FieldDescriptor

# Text planted in string fields, swapped for invalid UTF-8 after serializing (same length).
_MARKER = "\x7fUTF-8\x7f"
_INVALID_UTF8 = b"\xff\xfe\xc3\x28\xa0\xa1\xf0"

_INTS = (0, 1, -1, 2**31 - 1, -(2**31), 2**62, -(2**62), 2**63 - 1, -(2**63))
_FLOATS = (0.0, -0.0, 1e308, -1e308, 5e-324, float("nan"), float("inf"), float("-inf"))
_SECONDS = (0, -1, 2**62, -(2**62), 2**63 - 1, -(2**63), 253402300800, -62135596801)
_NANOS = (-1, 999_999_999, 1_000_000_000, 2**31 - 1, -(2**31))
_TEXTS = (
    "",
    " ",
    "runs/../../etc/passwd",
    "' OR 1=1 --",
    "%s%n{0}",
    "\x00nul",
    "名前🙂",
    "\u200bzero\u200dwidth",
    "*",
    "a" * 64,
)
_LIMITS = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}
_INT64 = (-(2**63), 2**63 - 1)
_TIMES = ("google.protobuf.Timestamp", "google.protobuf.Duration")


class RequestMaker:
    """Builds request bytes for methods; every choice comes from one seeded Random."""

    def __init__(self, seed: int, *, known_names: tuple[str, ...] = ("x",)):
        self.rng = random.Random(seed)
        self.known_names = known_names
        self.wildness = 1.0

    def request(self, method: descriptor.MethodDescriptor) -> bytes:
        kind = self.rng.random()
        if kind < 0.05:
            return self.rng.randbytes(self.rng.choice((1, 7, 64, 4096)))
        self.wildness = self.rng.choice((0.05, 0.2, 0.5, 1.0))
        raw = self.message(method.input_type).SerializeToString()
        if kind < 0.1 and raw:
            return self._flipped(raw)
        if kind < 0.2:
            return raw.replace(_MARKER.encode(), _INVALID_UTF8)
        return raw

    def wild(self) -> bool:
        return self.rng.random() < self.wildness

    def message(self, kind: descriptor.Descriptor, depth: int = 0) -> message.Message:
        built = message_factory.GetMessageClass(kind)()
        if kind.full_name == "google.protobuf.Struct":
            built.update(self.json_object(depth))
        elif kind.full_name == "google.protobuf.Value":
            built.struct_value.update(self.json_object(depth))
        elif kind.full_name in _TIMES:
            # Field by field: the generated helpers refuse what is out of range on purpose.
            built.seconds = self.rng.choice(_SECONDS) if self.wild() else 3600
            built.nanos = self.rng.choice(_NANOS) if self.wild() else 0
        else:
            self._fields(built, kind, depth)
        return built

    def _fields(self, built: message.Message, kind: descriptor.Descriptor, depth: int) -> None:
        oneofs_set: set[str] = set()
        for field in kind.fields:
            oneof = field.containing_oneof
            if oneof is not None and (oneof.name in oneofs_set or self.rng.random() < 0.5):
                continue
            if self.rng.random() < 0.2:  # leave some fields unset
                continue
            if oneof is not None:
                oneofs_set.add(oneof.name)
            self._fill(built, field, depth)

    def json_object(self, depth: int) -> dict:
        if not self.wild():
            return {"text": self.rng.choice(self.known_names), "n": 1}
        if self.rng.random() < 0.15:
            return self._nested(self.rng.choice((20, 25, 30, 40, 60, 200)))
        return {
            self.text(): self.json_value(depth + 1) for _ in range(self.rng.choice((0, 1, 3, 5)))
        }

    def json_value(self, depth: int):
        choice = self.rng.randrange(6 if depth < 4 else 4)
        if choice == 0:
            return self.rng.choice((*_FLOATS, 0, 1, -(2**62), 2**62))
        if choice == 1:
            return self.text()
        if choice == 2:
            return self.rng.choice((True, False, None))
        if choice == 3:
            return self.rng.choice(self.known_names)
        if choice == 4:
            return [self.json_value(depth + 1) for _ in range(self.rng.choice((0, 2, 5)))]
        return self.json_object(depth)

    def _nested(self, levels: int) -> dict:
        value: dict = {"leaf": 1}
        for level in range(levels):
            value = {"n": value} if level % 2 else {"n": [value]}
        return value

    def text(self) -> str:
        if not self.wild():
            return self.rng.choice(self.known_names)
        choice = self.rng.random()
        if choice < 0.2:
            return "x" * 10_000
        if choice < 0.25:
            return self.rng.choice(("y" * 300_000, "z" * 1_000_000))
        if choice < 0.35:
            return _MARKER
        if choice < 0.6:
            return "".join(
                chr(self.rng.randrange(1, 0xD7FF)) for _ in range(self.rng.randrange(40))
            )
        return self.rng.choice(_TEXTS)

    def _fill(self, built: message.Message, field: FieldDescriptor, depth: int) -> None:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            entries = getattr(built, field.name)
            key_field, value_field = field.message_type.fields
            for _ in range(self._count()):
                key = self._scalar(key_field)
                if value_field.message_type is not None:
                    entries[key].CopyFrom(self.message(value_field.message_type, depth + 1))
                else:
                    entries[key] = self._scalar(value_field)
        elif field.is_repeated:
            values = getattr(built, field.name)
            for _ in range(self._count()):
                if field.message_type is not None:
                    values.add().CopyFrom(self.message(field.message_type, depth + 1))
                else:
                    values.append(self._scalar(field))
        elif field.message_type is not None:
            if depth < 6:
                getattr(built, field.name).CopyFrom(self.message(field.message_type, depth + 1))
        else:
            setattr(built, field.name, self._scalar(field))

    def _count(self) -> int:
        return self.rng.choice((0, 5, 1000)) if self.wild() else 1

    def _scalar(self, field: FieldDescriptor):
        kind = field.type
        if kind == FieldDescriptor.TYPE_STRING:
            return self.text()
        if kind == FieldDescriptor.TYPE_BOOL:
            return self.rng.random() < 0.5
        wild = self.wild()
        if kind == FieldDescriptor.TYPE_BYTES:
            return self.rng.randbytes(10_000 if wild else 16)
        if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            return self.rng.choice(_FLOATS) if wild else 0.5
        if kind == FieldDescriptor.TYPE_ENUM:
            numbers = [value.number for value in field.enum_type.values]
            return self.rng.choice(numbers + [-1, 99, 2**31 - 1] if wild else numbers)
        if not wild:
            return self.rng.choice((0, 1, 2, 10))
        low, high = _LIMITS.get(kind, _INT64)
        return self.rng.choice([v for v in _INTS if low <= v <= high] + [low, high])

    def _flipped(self, raw: bytes) -> bytes:
        flipped = bytearray(raw)
        for _ in range(self.rng.randrange(1, 4)):
            flipped[self.rng.randrange(len(flipped))] ^= 1 << self.rng.randrange(8)
        return bytes(flipped)
