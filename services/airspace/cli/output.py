"""Console, JSON and error rendering shared by every command.

Colors and styles only when writing to a terminal; piped output is plain text
(or JSON with --json) so scripts can read it.
"""

from __future__ import annotations

import json
import os
import sys

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from airspace.mesh import reasons
from airspace.mesh.errors import ERROR_DOMAIN, status_details
from airspace.v1 import run_pb2

OK, FAILED, USAGE, UNREACHABLE, INTERRUPTED = 0, 1, 2, 3, 130

# Width used when output is not a terminal, so piped lines are not cut at 80 columns.
_PLAIN_WIDTH = 120

STATE_STYLES = {
    "QUEUED": "dim",
    "RUNNING": "cyan",
    "WAITING_APPROVAL": "yellow",
    "COMPLETED": "green",
    "FAILED": "red",
    "CANCELED": "magenta",
}
TERMINAL_STATES = frozenset(
    {run_pb2.RUN_STATE_COMPLETED, run_pb2.RUN_STATE_FAILED, run_pb2.RUN_STATE_CANCELED}
)


class UsageError(Exception):
    """A problem with what the user typed or configured (exit code 2)."""


def console(*, stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    terminal = stream.isatty()
    width = None if terminal else int(os.environ.get("COLUMNS") or _PLAIN_WIDTH)
    # Piped lines are never broken in the middle: each event stays one greppable line.
    return Console(
        file=stream, highlight=False, width=width, force_terminal=terminal, soft_wrap=not terminal
    )


def table(*headers: str) -> Table:
    """A list table: light rules on a terminal, bare aligned columns when piped."""
    terminal = sys.stdout.isatty()
    return Table(*headers, box=box.SIMPLE_HEAD if terminal else None, header_style="bold")


def fields() -> Table:
    """A two-column `name  value` grid for show commands."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    return grid


def to_dict(message: Message) -> dict:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def print_json(value) -> None:
    """Prints a message, a list of messages or plain data as indented JSON."""
    if isinstance(value, Message):
        value = to_dict(value)
    elif isinstance(value, list):
        value = [to_dict(v) if isinstance(v, Message) else v for v in value]
    print(json.dumps(value, indent=2, ensure_ascii=False))


def enum_label(enum_type, value: int) -> str:
    """`RUN_STATE_COMPLETED` -> `COMPLETED`: the value's name without the type's prefix."""
    name = enum_type.Name(value) if value in enum_type.values() else str(value)
    common = os.path.commonprefix(list(enum_type.keys()))
    prefix = common[: common.rfind("_") + 1]
    return name[len(prefix) :] if name.startswith(prefix) else name


def state_text(state: int) -> Text:
    label = enum_label(run_pb2.RunState, state)
    return Text(label, style=STATE_STYLES.get(label, ""))


def struct_text(struct, limit: int | None = None) -> str:
    text = json.dumps(json_format.MessageToDict(struct), ensure_ascii=False, sort_keys=True)
    return shorten(text, limit) if limit else text


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def seconds(duration) -> float:
    return duration.seconds + duration.nanos / 1e9


def format_duration(secs: float) -> str:
    if secs < 1:
        return f"{secs * 1000:.0f}ms"
    if secs < 120:
        return f"{secs:.2f}s"
    minutes, rest = divmod(int(secs), 60)
    return f"{minutes}m{rest:02d}s" if minutes < 120 else f"{minutes // 60}h{minutes % 60:02d}m"


def format_time(timestamp) -> str:
    if not timestamp.seconds and not timestamp.nanos:
        return "-"
    return timestamp.ToDatetime().astimezone().strftime("%Y-%m-%d %H:%M:%S")


def status_text(status) -> str:
    """A google.rpc.Status led by its catalogued reason (`AGENT_DEPENDENCY at step s1: ...`),
    which says more than its code; `CODE: message` when it names none."""
    reason = reasons.reason_of(status)
    if reason is not None:
        return (
            status.message if status.message.startswith(reason) else f"{reason}: {status.message}"
        )
    code = next((c.name for c in grpc.StatusCode if c.value[0] == status.code), str(status.code))
    return f"{code}: {status.message}" if status.message else code


def render_rpc_error(error: grpc.RpcError, gateway: str) -> int:
    """Prints a failed call as one line plus its field violations; returns the exit code."""
    err = console(stderr=True)
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = status_details(error)
    info = next((d for d in details if isinstance(d, error_details_pb2.ErrorInfo)), None)
    if code == grpc.StatusCode.UNAVAILABLE and (info is None or info.domain != ERROR_DOMAIN):
        err.print(Text.assemble(("error: ", "bold red"), f"cannot reach the gateway at {gateway}"))
        err.print("  start the mesh with `airspace up`, or point at it with --gateway HOST:PORT")
        return UNREACHABLE
    message = error.details() if hasattr(error, "details") else str(error)
    line = Text.assemble(("error: ", "bold red"), (code.name, "bold"), f": {message}")
    if info is not None and info.reason and info.reason != code.name:
        line.append(f" [{info.reason}]", style="dim")
    err.print(line)
    if info is not None and (reason := reasons.parse(info.reason)) is not None:
        err.print(f"  to do: {reasons.explain(reason).action}")
    for detail in details:
        if isinstance(detail, error_details_pb2.BadRequest):
            for violation in detail.field_violations:
                err.print(
                    Text.assemble("  - ", (violation.field, "bold"), f": {violation.description}")
                )
        elif isinstance(detail, error_details_pb2.RetryInfo):
            delay = seconds(detail.retry_delay)
            err.print(f"  retry after {format_duration(delay)}")
    if code == grpc.StatusCode.UNAUTHENTICATED:
        err.print("  check your API key: set AIRSPACE_API_KEY or run `airspace up` to create one")
    return USAGE


def render_usage_error(error: Exception) -> int:
    """A problem with what was asked, as one line (a MeshError's message, say)."""
    console(stderr=True).print(Text.assemble(("error: ", "bold red"), str(error)))
    return USAGE


def print_listing(table, rows: int, more: bool, limit: int, noun: str) -> None:
    """A list command's table, or `no <noun>`, and a hint when --limit cut the list."""
    out = console()
    out.print(table if rows else f"no {noun}")
    if more:
        out.print(f"more {noun} exist; raise --limit (now {limit})", style="dim")
