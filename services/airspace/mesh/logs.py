"""Process logging for every mesh service: one line per record, as text or JSON, carrying
the run id and trace id of the work it belongs to, with PII in messages masked.

    logs.setup("router", "json")     # done by server.run from the service's settings
    logs.bind_run(run.run_id)        # the router, in the task that executes a run

A line has a fixed set of fields: values passed with `extra=` are never written, so a
payload handed to a log call does not reach the log. Messages and tracebacks go
through the policy engine's PII detectors and each finding is replaced by its entity
name ("[EMAIL]", "[CREDIT_CARD]").
"""

from __future__ import annotations

import contextvars
import datetime
import ipaddress
import json
import logging
import sys
from typing import TextIO

from opentelemetry import trace

from airspace.policy.engine.pii.detectors import IP_ADDRESS
from airspace.policy.engine.pii.scan import Span, scan_text

_run_id: contextvars.ContextVar[str] = contextvars.ContextVar("airspace_run_id", default="")


def bind_run(run_id: str) -> contextvars.Token:
    """Tags what the current task (and the tasks it starts) logs with `run_id`."""
    return _run_id.set(run_id)


def mask_pii(text: str) -> str:
    """`text` with every PII finding replaced by its entity name. Loopback and unspecified
    addresses ("listening on 127.0.0.1:50051") identify nobody and stay."""
    spans = [span for span in scan_text(text) if not _infrastructure_address(span)]
    if not spans:
        return text
    parts, end = [], 0
    for span in spans:
        parts += [text[end : span.start], f"[{span.entity}]"]
        end = span.end
    parts.append(text[end:])
    return "".join(parts)


def _infrastructure_address(span: Span) -> bool:
    if span.entity != IP_ADDRESS:
        return False
    address = ipaddress.ip_address(span.value)
    return address.is_loopback or address.is_unspecified


def _correlation() -> dict[str, str]:
    """The run id and trace/span ids of the code that is logging, those that are set."""
    ids = {}
    if run_id := _run_id.get():
        ids["run_id"] = run_id
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        ids["trace_id"] = format(span_context.trace_id, "032x")
        ids["span_id"] = format(span_context.span_id, "016x")
    return ids


class _MaskingFormatter(logging.Formatter):
    def masked_message(self, record: logging.LogRecord) -> str:
        return mask_pii(record.getMessage())

    def masked_exception(self, record: logging.LogRecord) -> str:
        text = self.formatException(record.exc_info) if record.exc_info else ""
        if record.stack_info:
            text = f"{text}\n{self.formatStack(record.stack_info)}".lstrip("\n")
        return mask_pii(text) if text else ""


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
    """One JSON object per line: time, level, service, logger, message, run_id, trace_id,
    span_id and exception (the last four when there is one)."""

    def __init__(self, service: str):
        super().__init__()
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


def formatter(log_format: str, service: str) -> logging.Formatter:
    return JsonFormatter(service) if log_format == "json" else TextFormatter()


def setup(
    service: str, log_format: str = "text", level: int = logging.INFO, stream: TextIO | None = None
) -> logging.Handler:
    """Makes the process log through one handler (stderr by default) in `log_format`,
    replacing any handler configured before."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(log_format, service))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    return handler
