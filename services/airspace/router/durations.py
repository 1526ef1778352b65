"""Durations written in workflow documents: "250ms", "10s", "5m", "2h", "2d", or a number of
seconds (approvals may wait for days)."""

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
# A refused value is quoted back to the author, cut to this many characters.
_QUOTED = 40


def parse_duration(value: object) -> float:
    """Seconds in `value`; raises ValueError with a readable message."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like '10s', got a boolean")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _PATTERN.match(str(value))
        if not match:
            raise ValueError(
                "expected a duration like '500ms', '10s', '5m', '2h' or '2d', "
                f"got {str(value)[:_QUOTED]!r}"
            )
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds
