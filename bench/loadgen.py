"""A ghz-like load generator for the public API (ghz itself cannot be installed here).

    python -m bench.loadgen --call airspace.v1.RunService/ListRuns -d '{"page_size": 10}' -c 16 -z 10s

Requests are built from the descriptor pool (JSON through json_format) and sent on one
grpc.aio channel by `concurrency` workers; the summary follows ghz: count, requests/s, the
latency distribution, status codes and errors (`--json` for a machine-readable one), plus
the final state of the runs the calls ran or read (RunWorkflow, ExecuteRun, WatchRun,
GetRun...): a run that failed ends its call with a non-OK status, so it counts as a
failed call too. The gateway and the API key are found the way the CLI finds them
(services/airspace/cli/connection.py).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import functools
import importlib
import json
import math
import pathlib
import pkgutil
import sys
import time
from collections.abc import Awaitable, Callable

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.message import Message
from google.rpc import error_details_pb2

import airspace.v1
from airspace.cli import connection
from airspace.mesh.errors import status_details
from airspace.router.durations import parse_duration
from airspace.v1 import run_pb2


def _load_public_api() -> list:
    """Imports every airspace.v1 *_pb2 module, which loads the public API into the pool."""
    return [
        importlib.import_module(f"airspace.v1.{module.name}")
        for module in pkgutil.iter_modules(airspace.v1.__path__)
        if module.name.endswith("_pb2")
    ]


PUBLIC_API = _load_public_api()
PERCENTILES = (10, 25, 50, 75, 90, 95, 99)
DEFAULT_TOTAL = 200
DEFAULT_CONCURRENCY = 50
DEFAULT_TIMEOUT_SECONDS = 20.0

# One call; it answers the final state of the run it ran or read ("COMPLETED"...), if any.
Call = Callable[[], Awaitable[str | None]]


class Failed(Exception):
    """A call that ended with status OK but did not do its job; `status` names the outcome."""

    def __init__(self, status: str, message: str = ""):
        super().__init__(message or status)
        self.status = status


@dataclasses.dataclass
class LoadResult:
    """What a load produced: each call's latency in seconds, whatever its outcome.

    The rate counts the calls that ended within the window (the duration of a timed load):
    calls still in flight at its end finish and are timed, but are not in the rate, which
    keeps it a steady-state rate however long the calls take."""

    latencies: list[float]
    statuses: collections.Counter
    errors: collections.Counter  # "CODE: details" -> how often
    elapsed: float  # until the last call ended
    window: float  # the duration of a timed load; `elapsed` for a number of calls
    in_window: int  # calls that ended within the window
    # Final state of the runs the calls ran or read ("COMPLETED", "FAILED"...) -> how often
    run_states: collections.Counter = dataclasses.field(default_factory=collections.Counter)

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.in_window / self.window if self.window > 0 else 0.0

    @property
    def ok(self) -> int:
        return self.statuses["OK"]

    @functools.cached_property
    def _sorted(self) -> list[float]:
        return sorted(self.latencies)

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile in seconds (0 when nothing was measured)."""
        if not self._sorted:
            return 0.0
        rank = max(1, math.ceil(p / 100 * len(self._sorted)))
        return self._sorted[rank - 1]

    @property
    def average(self) -> float:
        return sum(self.latencies) / len(self.latencies) if self.latencies else 0.0

    def merged(self, other: LoadResult) -> LoadResult:
        """Both loads as one, as if measured back to back."""
        return LoadResult(
            self.latencies + other.latencies,
            self.statuses + other.statuses,
            self.errors + other.errors,
            self.elapsed + other.elapsed,
            self.window + other.window,
            self.in_window + other.in_window,
            self.run_states + other.run_states,
        )

    def summary(self) -> dict:
        return {
            "count": self.count,
            "total_seconds": round(self.elapsed, 4),
            "window_seconds": round(self.window, 4),
            "rps": round(self.rps, 2),
            "average_ms": _ms(self.average),
            "fastest_ms": _ms(self._sorted[0] if self._sorted else 0.0),
            "slowest_ms": _ms(self._sorted[-1] if self._sorted else 0.0),
            "latency_ms": {f"p{p}": _ms(self.percentile(p)) for p in PERCENTILES},
            "status_codes": dict(self.statuses),
            "errors": dict(self.errors),
            "run_states": dict(self.run_states),
        }


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


async def drive(
    call: Call, concurrency: int, *, duration: float | None = None, total: int | None = None
) -> LoadResult:
    """Runs `call` from `concurrency` workers for `duration` seconds or `total` calls.

    When the duration is up no call starts; those in flight finish (see LoadResult)."""
    if (duration is None) == (total is None):
        raise ValueError("give either a duration or a total number of calls")
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    latencies: list[float] = []
    statuses: collections.Counter = collections.Counter()
    errors: collections.Counter = collections.Counter()
    run_states: collections.Counter = collections.Counter()
    started = time.perf_counter()
    stop_at = started + duration if duration is not None else math.inf
    issued = in_window = 0

    def may_start() -> bool:
        nonlocal issued
        if total is None:
            return time.perf_counter() < stop_at
        if issued >= total:
            return False
        issued += 1
        return True

    async def worker() -> None:
        nonlocal in_window
        while may_start():
            began = time.perf_counter()
            status, error, run_state = await outcome(call)
            ended = time.perf_counter()
            latencies.append(ended - began)
            in_window += ended <= stop_at
            statuses[status] += 1
            if error:
                errors[error] += 1
            if run_state:
                run_states[run_state] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    window = elapsed if duration is None else duration
    return LoadResult(latencies, statuses, errors, elapsed, window, in_window, run_states)


async def outcome(call: Call) -> tuple[str, str, str | None]:
    """(status, error, final run state) of one call."""
    try:
        run_state = await call()
    except grpc.aio.AioRpcError as exc:
        return exc.code().name, f"{exc.code().name}: {exc.details()}", _ended_run_state(exc)
    except Failed as exc:
        return exc.status, f"{exc.status}: {exc}", None
    return "OK", "", run_state


def _ended_run_state(error: grpc.aio.AioRpcError) -> str | None:
    """The state of the run a call ended with (FAILED, CANCELED, or where a run that goes
    on stood), named with the run in the error's ErrorInfo."""
    for detail in status_details(error):
        if isinstance(detail, error_details_pb2.ErrorInfo) and "run" in detail.metadata:
            return detail.metadata.get("state")
    return None


def run_state(response: Message) -> str | None:
    """The run state a response reports: a run's (RunWorkflow, GetRun...) or the state an
    event moved its run to (ExecuteRun, WatchRun)."""
    if isinstance(response, run_pb2.RunEvent):
        changed = response.run_state_changed if response.HasField("run_state_changed") else None
        return _state_name(changed.to) if changed is not None else None
    run = getattr(response, "run", None)
    return _state_name(run.state) if isinstance(run, run_pb2.Run) else None


def _state_name(state: int) -> str:
    return run_pb2.RunState.Name(state).removeprefix("RUN_STATE_")


@dataclasses.dataclass(frozen=True)
class Method:
    """A unary or server-streaming method, with its message classes."""

    path: str
    request_class: type[Message]
    response_class: type[Message]
    server_streaming: bool

    def request(self, data: str):
        """The request from JSON (proto3 JSON mapping); raises json_format.ParseError."""
        return json_format.Parse(data, self.request_class())


def find_method(name: str) -> Method:
    """`airspace.v1.RunService/ListRuns` (or `...RunService.ListRuns`) from the descriptor pool."""
    separator = "/" if "/" in name else "."
    service_name, _, method_name = name.strip("/").rpartition(separator)
    try:
        service = descriptor_pool.Default().FindServiceByName(service_name)
    except KeyError:
        known = sorted(
            s.full_name for m in PUBLIC_API for s in m.DESCRIPTOR.services_by_name.values()
        )
        raise ValueError(f"unknown service {service_name!r}; known: {', '.join(known)}") from None
    method = service.methods_by_name.get(method_name)
    if method is None:
        raise ValueError(
            f"{service_name} has no method {method_name!r}; it has: "
            + ", ".join(sorted(service.methods_by_name))
        )
    if method.client_streaming:
        raise ValueError(
            f"{service_name}/{method_name} is client-streaming, which is not supported"
        )
    return Method(
        path=f"/{service_name}/{method_name}",
        request_class=message_factory.GetMessageClass(method.input_type),
        response_class=message_factory.GetMessageClass(method.output_type),
        server_streaming=method.server_streaming,
    )


def caller(
    channel: grpc.aio.Channel,
    method: Method,
    request,
    *,
    metadata: tuple[tuple[str, str], ...] = (),
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> Call:
    """One call of `method` with `request` (serialized once); a stream is read to its end."""
    payload = request.SerializeToString()
    decode = method.response_class.FromString
    if method.server_streaming:
        stream: grpc.aio.UnaryStreamMultiCallable[bytes, Message] = channel.unary_stream(
            method.path, response_deserializer=decode
        )

        async def call_stream() -> str | None:
            last = None
            async for response in stream(payload, metadata=metadata, timeout=timeout):
                last = run_state(response) or last
            return last

        return call_stream
    unary: grpc.aio.UnaryUnaryMultiCallable[bytes, Message] = channel.unary_unary(
        method.path, response_deserializer=decode
    )

    async def call_unary() -> str | None:
        return run_state(await unary(payload, metadata=metadata, timeout=timeout))

    return call_unary


def report(result: LoadResult) -> str:
    """A ghz-like text summary."""
    lines = [
        "Summary:",
        f"  Count:         {result.count}",
        f"  Total:         {_readable(result.elapsed)}",
        f"  Slowest:       {_readable(result.percentile(100))}",
        f"  Fastest:       {_readable(result.percentile(0))}",
        f"  Average:       {_readable(result.average)}",
        f"  Requests/sec:  {result.rps:.2f}",
        "",
        "Latency distribution:",
        *(f"  {p} % in {_readable(result.percentile(p))}" for p in PERCENTILES),
        "",
        "Status code distribution:",
        *(f"  [{status}]  {n} responses" for status, n in result.statuses.most_common()),
    ]
    if result.run_states:
        lines += ["", "Run state distribution:"]
        lines += [f"  [{state}]  {n} runs" for state, n in result.run_states.most_common()]
    if result.errors:
        lines += ["", "Error distribution:"]
        lines += [f"  [{n}]  {error}" for error, n in result.errors.most_common()]
    return "\n".join(lines)


def _readable(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.2f} ms"


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="python -m bench.loadgen",
        description="Load a unary or server-streaming method of the public API, like ghz.",
        epilog="example: python -m bench.loadgen --call airspace.v1.RunService/ListRuns "
        "-d '{\"page_size\": 10}' -c 16 -z 10s",
    )
    command.add_argument(
        "--gateway",
        metavar="HOST:PORT",
        help="default: $AIRSPACE_GATEWAY, the credentials file, 127.0.0.1:50051",
    )
    command.add_argument("--call", required=True, metavar="SERVICE/METHOD", help="method to call")
    command.add_argument(
        "-d", "--data", default="{}", help="request as JSON, or @FILE holding it (default {})"
    )
    command.add_argument(
        "-m", "--metadata", default="{}", help="extra metadata as a JSON object of strings"
    )
    command.add_argument(
        "-c",
        "--concurrency",
        type=positive_int,
        default=DEFAULT_CONCURRENCY,
        help=f"concurrent workers (default {DEFAULT_CONCURRENCY})",
    )
    amount = command.add_mutually_exclusive_group()
    amount.add_argument(
        "-n", "--total", type=positive_int, help=f"calls to make (default {DEFAULT_TOTAL})"
    )
    amount.add_argument("-z", "--duration", type=_seconds, help="load for this long, e.g. 10s")
    command.add_argument(
        "-t",
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT_SECONDS,
        help="deadline of each call (default 20s)",
    )
    command.add_argument(
        "--api-key",
        help="default: $AIRSPACE_API_KEY, else the credentials file in $AIRSPACE_HOME",
    )
    command.add_argument("--json", action="store_true", help="print the summary as JSON")
    return command


@dataclasses.dataclass(frozen=True)
class Plan:
    """A checked command line: what to call, with what, how hard."""

    gateway: str
    method: Method
    request: object
    metadata: tuple[tuple[str, str], ...]
    concurrency: int
    duration: float | None
    total: int | None
    timeout: float
    as_json: bool


def plan(argv: list[str] | None = None) -> Plan:
    command = parser()
    args = command.parse_args(argv)
    try:
        method = find_method(args.call)
    except ValueError as exc:
        command.error(f"--call: {exc}")
    data = pathlib.Path(args.data[1:]).read_text() if args.data.startswith("@") else args.data
    try:
        request = method.request(data)
    except json_format.ParseError as exc:
        command.error(f"--data is not a valid {method.request_class.DESCRIPTOR.full_name}: {exc}")
    try:
        extra = json.loads(args.metadata)
    except ValueError as exc:
        command.error(f"--metadata is not JSON: {exc}")
    if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
        command.error("--metadata must be a JSON object of strings")
    target = connection.resolve(args.gateway)
    metadata = {key.lower(): value for key, value in extra.items()}
    api_key = args.api_key or target.api_key
    if api_key and "authorization" not in metadata:
        metadata["authorization"] = f"Bearer {api_key}"
    return Plan(
        gateway=target.gateway,
        method=method,
        request=request,
        metadata=tuple(metadata.items()),
        concurrency=args.concurrency,
        duration=args.duration,
        total=None if args.duration else (args.total or DEFAULT_TOTAL),
        timeout=args.timeout,
        as_json=args.json,
    )


async def load(planned: Plan) -> LoadResult:
    async with grpc.aio.insecure_channel(planned.gateway) as channel:
        call = caller(
            channel,
            planned.method,
            planned.request,
            metadata=planned.metadata,
            timeout=planned.timeout,
        )
        return await drive(
            call, planned.concurrency, duration=planned.duration, total=planned.total
        )


def main(argv: list[str] | None = None) -> int:
    planned = plan(argv)
    result = asyncio.run(load(planned))
    print(json.dumps(result.summary(), indent=2) if planned.as_json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
