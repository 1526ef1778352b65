"""Process logging for every mesh service: one line per record, as text or JSON, carrying
the run id, step key and trace id of the work it belongs to, with PII in messages masked.

    logs.setup("router", mask_log_text, "json")   # done by server.run from the settings
    logs.bind_run(run.run_id)        # the router, in the task that executes a run
    with logs.step(str(key)): ...    # while one of its steps runs

A line has a fixed set of fields: values passed with `extra=` are never written, so a
payload handed to a log call does not reach the log. Messages and tracebacks go
through the masker the service hands over (the policy engine's PII detectors, see
airspace.policy.engine.pii.log_masking), which replaces each finding by its entity
name ("[EMAIL]", "[CREDIT_CARD]").
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import json
import logging
import sys
from collections.abc import Callable, Iterator
from typing import TextIO

from opentelemetry import trace

_run_id: contextvars.ContextVar[str] = contextvars.ContextVar("airspace_run_id", default="")
_step_key: contextvars.ContextVar[str] = contextvars.ContextVar("airspace_step_key", default="")


def bind_run(run_id: str) -> contextvars.Token:
    """Tags what the current task (and the tasks it starts) logs with `run_id`."""
    return _run_id.set(run_id)


@contextlib.contextmanager
def step(step_key: str) -> Iterator[None]:
    """Tags what is logged inside the block (tasks it starts included) with `step_key`."""
    token = _step_key.set(step_key)
    try:
        yield
    finally:
        _step_key.reset(token)


def _correlation() -> dict[str, str]:
    """The run id, step key and trace/span ids of the code that is logging, those set."""
    ids = {}
    if run_id := _run_id.get():
        ids["run_id"] = run_id
    if step_key := _step_key.get():
        ids["step_key"] = step_key
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        ids["trace_id"] = format(span_context.trace_id, "032x")
        ids["span_id"] = format(span_context.span_id, "016x")
    return ids


# Replaces the PII in a log line; the service hands it over (the mesh kit knows no PII).
Masker = Callable[[str], str]


class _MaskingFormatter(logging.Formatter):
    def __init__(self, mask: Masker):
        super().__init__()
        self._mask = mask

    def masked_message(self, record: logging.LogRecord) -> str:
        return self._mask(record.getMessage())

    def masked_exception(self, record: logging.LogRecord) -> str:
        text = self.formatException(record.exc_info) if record.exc_info else ""
        if record.stack_info:
            text = f"{text}\n{self.formatStack(record.stack_info)}".lstrip("\n")
        return self._mask(text) if text else ""


class TextFormatter(_MaskingFormatter):
    """`2025-01-31 12:00:00,123 airspace.router INFO message [run=… trace=…]`."""

    def format(self, record: logging.LogRecord) -> str:
        line = (
            f"{self.formatTime(record)} {record.name} {record.levelname} "
            f"{self.masked_message(record)}"
        )
        ids = _correlation()
        if ids:
            line += " [" + " ".join(f"{k.removesuffix('_id')}={v}" for k, v in ids.items()) + "]"
        if exception := self.masked_exception(record):
            line += "\n" + exception
        return line


class JsonFormatter(_MaskingFormatter):
    """One JSON object per line: time, level, service, logger, message, run_id, step_key,
    trace_id, span_id and exception (the last five when there is one)."""

    def __init__(self, service: str, mask: Masker):
        super().__init__(mask)
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "message": self.masked_message(record),
            **_correlation(),
        }
        if exception := self.masked_exception(record):
            entry["exception"] = exception
        return json.dumps(entry, ensure_ascii=False)


def formatter(log_format: str, service: str, mask: Masker) -> logging.Formatter:
    return JsonFormatter(service, mask) if log_format == "json" else TextFormatter(mask)


def setup(
    service: str,
    mask: Masker,
    log_format: str = "text",
    level: int = logging.INFO,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Makes the process log through one handler (stderr by default) in `log_format`,
    replacing any handler configured before."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(log_format, service, mask))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    return handler
