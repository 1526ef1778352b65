"""`airspace run` and `airspace runs list|show|watch|cancel`."""

from __future__ import annotations

import json
import pathlib
import sys
import uuid

import grpc
from google.protobuf import struct_pb2
from google.rpc import error_details_pb2, status_pb2
from rich.json import JSON
from rich.table import Table
from rich.text import Text

from airspace.cli import args as cli_args
from airspace.cli.connection import Client, connect, paged
from airspace.cli.events import live_line
from airspace.cli.output import (
    FAILED,
    INTERRUPTED,
    OK,
    TERMINAL_STATES,
    UsageError,
    console,
    fields,
    format_duration,
    format_time,
    print_json,
    print_listing,
    state_text,
    status_text,
    struct_text,
    table,
    to_dict,
)
from airspace.cli.path import render_path
from airspace.mesh import json_values
from airspace.mesh.errors import status_details
from airspace.mesh.reasons import explain, reason_of
from airspace.v1 import run_pb2

_STATES = cli_args.enum_choices(run_pb2.RunState, "RUN_STATE_")


def register(sub) -> None:
    run = cli_args.add_command(
        sub,
        "run",
        "run a workflow and follow it live",
        """
        airspace run contract-review --input '{"contract": "..."}'
        airspace run contract-review --input @contract.json --version 3
        airspace run contract-review --input @- --detach < input.json
        """,
        description="Start a run and stream what happens, one line per event, until it ends. "
        "Ctrl-C stops watching; the run keeps going.",
    )
    run.add_argument("workflow", help="workflow name")
    run.add_argument(
        "--input",
        default="{}",
        help="run input: a JSON object, @FILE.json or @- (stdin) holding one, or @FILE of "
        "any other kind, whose text is the run's input text",
    )
    run.add_argument("--version", type=int, default=0, help="workflow version (default latest)")
    run.add_argument(
        "--request-id",
        help="idempotency key: the same key with the same request joins the same run, with "
        "another request it is refused (default random)",
    )
    run.add_argument(
        "--label", action="append", default=[], metavar="KEY=VALUE", help="label the run"
    )
    run.add_argument("--detach", action="store_true", help="start the run, print its id, exit")
    run.add_argument("--json", action="store_true", help="print events as JSON lines")
    run.set_defaults(handler=run_workflow)

    runs = cli_args.add_group(sub, "runs", "list, inspect, watch and cancel runs")

    listing = cli_args.add_command(
        runs,
        "list",
        "list runs, newest first",
        """
        airspace runs list
        airspace runs list --workflow contract-review --state failed --limit 10
        """,
    )
    listing.add_argument("--workflow", help="only runs of this workflow")
    listing.add_argument("--state", choices=sorted(_STATES), help="only runs in this state")
    cli_args.limit_flag(listing)
    cli_args.json_flag(listing)
    listing.set_defaults(handler=list_runs)

    show = cli_args.add_command(
        runs,
        "show",
        "show a run and the path it took",
        """
        airspace runs show 7f3c2a
        airspace runs show 7f3c2a --json | jq '.events[] | select(.guardrail_verdict)'
        """,
    )
    show.add_argument("run_id", metavar="RUN_ID", help="run id")
    cli_args.json_flag(show)
    show.set_defaults(handler=show_run)

    watch = cli_args.add_command(
        runs,
        "watch",
        "follow a run's events live until it ends",
        """
        airspace runs watch 7f3c2a
        airspace runs watch 7f3c2a --after 12
        """,
    )
    watch.add_argument("run_id", metavar="RUN_ID", help="run id")
    watch.add_argument("--after", type=int, default=0, help="start after this event sequence")
    watch.add_argument("--json", action="store_true", help="print events as JSON lines")
    watch.set_defaults(handler=watch_run)

    cancel = cli_args.add_command(
        runs,
        "cancel",
        "cancel a run",
        """
        airspace runs cancel 7f3c2a --reason "wrong contract"
        """,
    )
    cancel.add_argument("run_id", metavar="RUN_ID", help="run id")
    cancel.add_argument("--reason", default="", help="why, for the record")
    cancel.set_defaults(handler=cancel_run)


def run_workflow(args) -> int:
    run_input = parse_input(args.input)
    labels = parse_labels(args.label)
    request_id = args.request_id or uuid.uuid4().hex
    request = dict(
        workflow=args.workflow,
        workflow_version=args.version,
        input=run_input,
        request_id=request_id,
        labels=labels,
    )
    with connect(args) as client:
        if args.detach:
            run = client.runs.StartRun(run_pb2.StartRunRequest(**request)).run
            if args.json:
                print_json(run)
            else:
                print(run.run_id)
                console(stderr=True).print(
                    f"started {run.workflow.name}@{run.workflow.version}; "
                    f"follow it with `airspace runs watch {run.run_id}`",
                    style="dim",
                )
            return OK
        return execute(client, run_pb2.ExecuteRunRequest(**request), args.json)


def execute(client: Client, request: run_pb2.ExecuteRunRequest, as_json: bool = False) -> int:
    """Runs a workflow, printing its events as they happen; returns the exit code."""
    rejoin = f"airspace run {request.workflow} --request-id {request.request_id}"
    return _follow(client, client.runs.ExecuteRun(request), as_json, rejoin)


def watch_run(args) -> int:
    with connect(args) as client:
        request = run_pb2.WatchRunRequest(run_id=args.run_id, after_sequence=args.after)
        return _follow(client, client.runs.WatchRun(request), args.json, "")


def list_runs(args) -> int:
    request = run_pb2.ListRunsRequest(
        workflow=args.workflow or "", state=_STATES.get(args.state or "", "RUN_STATE_UNSPECIFIED")
    )
    with connect(args) as client:
        runs, more = paged(client.runs.ListRuns, request, "runs", args.limit)
    if args.json:
        print_json(runs)
        return OK
    rows = table("RUN", "WORKFLOW", "STATE", "CREATED BY", "CREATED", "DURATION", "STEPS")
    for run in runs:
        rows.add_row(
            run.run_id,
            f"{run.workflow.name}@{run.workflow.version}",
            state_text(run.state),
            run.created_by,
            format_time(run.create_time),
            _run_duration(run),
            str(run.usage.steps),
        )
    print_listing(rows, len(runs), more, args.limit, "runs")
    return OK


def show_run(args) -> int:
    with connect(args) as client:
        return print_run(client, args.run_id, args.json)


def print_run(client: Client, run_id: str, as_json: bool = False) -> int:
    """A run's summary and the path it took, step by step."""
    run = client.runs.GetRun(run_pb2.GetRunRequest(run_id=run_id)).run
    events = event_log(client, run)
    if as_json:
        print_json({"run": to_dict(run), "events": [to_dict(e) for e in events]})
        return OK
    out = console()
    out.print(run_header(run))
    out.print()
    out.print(render_path(events, title=f"path of run {run.run_id}"))
    return OK


def cancel_run(args) -> int:
    request = run_pb2.CancelRunRequest(
        run_id=args.run_id, reason=args.reason, request_id=uuid.uuid4().hex
    )
    with connect(args) as client:
        run = client.runs.CancelRun(request).run
    console().print(Text.assemble(f"run {run.run_id} is ", state_text(run.state)))
    return OK


def run_header(run: run_pb2.Run) -> Table:
    grid = fields()
    grid.add_row("run", run.run_id)
    grid.add_row("workflow", f"{run.workflow.name}@{run.workflow.version}")
    grid.add_row("state", state_text(run.state))
    grid.add_row("created", f"{format_time(run.create_time)} by {run.created_by or '-'}")
    if run.HasField("end_time"):
        grid.add_row("ended", f"{format_time(run.end_time)} (took {_run_duration(run)})")
    else:
        grid.add_row("updated", f"{format_time(run.update_time)} (running {_run_duration(run)})")
    if run.trace_id:
        grid.add_row("trace", f"{run.trace_id}  (airspace trace {run.run_id})")
    usage = run.usage
    spent = f"steps {usage.steps} · hops {usage.hops} · tokens {usage.tokens}"
    if usage.cost_micros:
        spent += f" · cost {usage.cost_micros / 1e6:.4f}"
    grid.add_row("usage", spent)
    if run.agent_versions:
        pinned = ", ".join(f"{name} v{v}" for name, v in sorted(run.agent_versions.items()))
        grid.add_row("agents", pinned)
    if run.HasField("error") and run.error.code:
        grid.add_row("error", Text(status_text(run.error), style="red"))
        if (reason := reason_of(run.error)) is not None:
            explanation = explain(reason)
            grid.add_row("meaning", explanation.meaning)
            grid.add_row("to do", explanation.action)
    if run.HasField("output"):
        grid.add_row("output", struct_text(run.output, 200))
    return grid


def parse_input(text: str) -> struct_pb2.Struct:
    """--input as a JSON object, given inline, as @FILE.json or as @- (stdin); any other
    @FILE (a contract, an email) is the input's text. A value the mesh would refuse (too
    deep, NaN) is refused here, naming where it is."""
    content, source = read_argument(text, "--input")
    struct = struct_pb2.Struct()
    if source and source != "-" and pathlib.Path(source).suffix.lower() != ".json":
        struct.update({"text": content})
    else:
        struct.update(json_object(content, "--input", source))
    return struct


def read_argument(text: str, flag: str) -> tuple[str, str]:
    """An argument's content: itself, or what @FILE (@- for stdin) holds; with the file's
    name ("" when given inline)."""
    if not text.startswith("@"):
        return text, ""
    source = text[1:]
    try:
        return (sys.stdin.read() if source == "-" else pathlib.Path(source).read_text()), source
    except OSError as exc:
        raise UsageError(f"{flag}: cannot read {source}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{flag}: {source} is not UTF-8 text") from exc


def json_object(text: str, flag: str, source: str = "") -> dict:
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise UsageError(f"{flag}: the JSON nests too deeply to read{_where(source)}") from exc
    except ValueError as exc:
        raise UsageError(f"{flag}: invalid JSON{_where(source)}: {exc}") from exc
    if not isinstance(value, dict):
        raise UsageError(f"{flag}: expected a JSON object, got {type(value).__name__}")
    json_values.check_json(value, flag)
    return value


def _where(source: str) -> str:
    return f" in {source}" if source else ""


def parse_labels(pairs: list[str]) -> dict[str, str]:
    labels = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--label: expected KEY=VALUE, got {pair!r}")
        labels[key] = value
    return labels


class _Follower:
    """Prints a run's events as they arrive and remembers where the run is."""

    def __init__(self, as_json: bool):
        self.as_json = as_json
        self.out = console()
        self.run_id = ""
        self.last_sequence = 0
        self.state = run_pb2.RUN_STATE_UNSPECIFIED
        self.origin: float | None = None
        self.from_start = False
        self.elapsed = 0.0
        self.output: struct_pb2.Struct | None = None
        self.error: status_pb2.Status | None = None

    def show(self, event: run_pb2.RunEvent) -> None:
        at = event.time.ToMicroseconds() / 1e6
        if self.origin is None:
            self.origin, self.from_start = at, event.sequence == 1
        self.elapsed = at - self.origin
        self.run_id = event.run_id or self.run_id
        self.last_sequence = event.sequence
        kind = event.WhichOneof("kind")
        if kind == "run_state_changed":
            self.state = event.run_state_changed.to
            if event.run_state_changed.HasField("error"):
                self.error = event.run_state_changed.error
        elif kind == "run_output":
            self.output = event.run_output.output
        if self.as_json:
            print(json.dumps(to_dict(event), ensure_ascii=False), flush=True)
        else:
            self.out.print(live_line(event, self.origin))


def _follow(client: Client, stream, as_json: bool, rejoin: str) -> int:
    follower = _Follower(as_json)
    try:
        for event in stream:
            follower.show(event)
    except KeyboardInterrupt:
        stream.cancel()
        _say_still_running(follower, rejoin)
        return INTERRUPTED
    except grpc.RpcError as error:
        if not follower.run_id or not _ends_run(error, follower.run_id):
            raise
    if follower.state not in TERMINAL_STATES and follower.run_id:
        run = client.runs.GetRun(run_pb2.GetRunRequest(run_id=follower.run_id)).run
        follower.state = run.state
        follower.output = run.output if run.HasField("output") else follower.output
        follower.error = run.error if run.HasField("error") else follower.error
    if not as_json:
        _print_ending(follower)
    if follower.state == run_pb2.RUN_STATE_COMPLETED:
        return OK
    return FAILED


def _print_ending(follower: _Follower) -> None:
    out = follower.out
    out.print()
    line = Text.assemble("run ", (follower.run_id, "bold"), " ", state_text(follower.state))
    if follower.state not in TERMINAL_STATES:
        line.append(f"; the stream ended early: `airspace runs watch {follower.run_id}`")
    elif follower.from_start:
        line.append(f" after {format_duration(follower.elapsed)}")
    out.print(line)
    if follower.error is not None and follower.error.code:
        out.print(Text(status_text(follower.error), style="red"))
        if (reason := reason_of(follower.error)) is not None:
            explanation = explain(reason)
            out.print(Text.assemble((str(reason), "bold"), f": {explanation.meaning}"))
            out.print(f"to do: {explanation.action}")
    if follower.output is not None and follower.state == run_pb2.RUN_STATE_COMPLETED:
        out.print(
            JSON(struct_text(follower.output)) if out.is_terminal else struct_text(follower.output)
        )


def _say_still_running(follower: _Follower, rejoin: str) -> None:
    err = console(stderr=True)
    if follower.run_id:
        err.print(
            f"stopped watching; run {follower.run_id} keeps going. Watch it again with "
            f"`airspace runs watch {follower.run_id} --after {follower.last_sequence}`"
        )
    else:
        err.print(f"stopped watching; the run keeps going. Rejoin it with `{rejoin}`")


def event_log(client: Client, run: run_pb2.Run) -> list[run_pb2.RunEvent]:
    """Every event of the run. A finished run's watch ends by itself; a live run's
    log is read up to its last known event, with a short deadline as a backstop."""
    request = run_pb2.WatchRunRequest(run_id=run.run_id)
    if run.state in TERMINAL_STATES:
        ended: list[run_pb2.RunEvent] = []
        try:
            ended.extend(client.runs.WatchRun(request, timeout=client.timeout))
        except grpc.RpcError as error:
            if not _ends_run(error, run.run_id):
                raise
        return ended
    events: list[run_pb2.RunEvent] = []
    if run.last_event_sequence == 0:
        return events
    stream = client.runs.WatchRun(request, timeout=min(client.timeout, 3.0))
    try:
        for event in stream:
            events.append(event)
            if event.sequence >= run.last_event_sequence:
                stream.cancel()
                break
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
            raise
    return events


def _ends_run(error: grpc.RpcError, run_id: str) -> bool:
    """Whether a stream's error is its run's end: a run that failed or was canceled ends
    the streams following it with a status whose ErrorInfo names the run."""
    return any(
        isinstance(detail, error_details_pb2.ErrorInfo)
        and detail.metadata.get("run") == f"runs/{run_id}"
        for detail in status_details(error)
    )


def _run_duration(run: run_pb2.Run) -> str:
    end = run.end_time if run.HasField("end_time") else run.update_time
    if not run.HasField("create_time") or not (end.seconds or end.nanos):
        return "-"
    delta = (end.ToMicroseconds() - run.create_time.ToMicroseconds()) / 1e6
    return format_duration(max(0.0, delta))
