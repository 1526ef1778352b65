"""Prometheus metrics for every mesh server: RPCs handled and their latency, and the HTTP
endpoint Prometheus scrapes (text exposition on /metrics).

Metrics live in the process's default registry, so a service's own metrics (defined
at module level next to the code that records them) appear on the same endpoint.
Labels stay low-cardinality: service, method, type and status code, never ids or
principals.
"""

from __future__ import annotations

import socket
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server

import grpc
from prometheus_client import Counter, Histogram, disable_created_metrics, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

# Sub-millisecond hops up to long agent calls; seconds, the base unit.
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)

_RPC_LABELS = ("grpc_service", "grpc_method", "grpc_type")
_HANDLED = Counter(
    "airspace_grpc_server_handled_total",
    "RPCs completed by this server, by method and status code.",
    (*_RPC_LABELS, "grpc_code"),
)
_HANDLING = Histogram(
    "airspace_grpc_server_handling_seconds",
    "Time from receiving an RPC to its status being sent (whole stream for streaming RPCs).",
    _RPC_LABELS,
    buckets=LATENCY_BUCKETS,
)


class RpcMetrics:
    """The series of one method, looked up once so that recording a call costs a
    counter increment and a histogram observation."""

    __slots__ = ("_labels", "_latency", "_handled")

    def __init__(self, full_method: str, rpc_type: str):
        service, _, method = full_method.lstrip("/").partition("/")
        self._labels = (service, method, rpc_type)
        self._latency = _HANDLING.labels(*self._labels)
        self._handled: dict[grpc.StatusCode, Counter] = {}

    def record(self, context: grpc.aio.ServicerContext, started: float, cancelled: bool) -> None:
        """Records a finished call that started at perf_counter() `started`; its code is
        the one it was aborted with, OK, or why it was cancelled."""
        if cancelled:
            remaining = context.time_remaining()
            expired = remaining is not None and remaining <= 0
            code = grpc.StatusCode.DEADLINE_EXCEEDED if expired else grpc.StatusCode.CANCELLED
        else:
            code = context.code() or grpc.StatusCode.OK
        self.observe(code, time.perf_counter() - started)

    def observe(self, code: grpc.StatusCode, seconds: float) -> None:
        handled = self._handled.get(code)
        if handled is None:
            handled = self._handled[code] = _HANDLED.labels(*self._labels, code.name)
        handled.inc()
        self._latency.observe(seconds)


_methods: dict[tuple[str, str], RpcMetrics] = {}
_methods_lock = threading.Lock()


def rpc(full_method: str, rpc_type: str) -> RpcMetrics:
    """The metrics of a registered method ("/pkg.Service/Method"), e.g. rpc_type "unary"."""
    key = (full_method, rpc_type)
    found = _methods.get(key)
    if found is None:
        with _methods_lock:
            found = _methods.setdefault(key, RpcMetrics(full_method, rpc_type))
    return found


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):  # a scrape is not worth a log line
        pass


class _Ipv6Server(ThreadingWSGIServer):
    address_family = socket.AF_INET6


class MetricsEndpoint:
    """Serves the process's metrics (text exposition, or OpenMetrics when asked) over
    HTTP on a thread of its own."""

    # How often the serving thread looks for stop(): bounds how long stopping takes.
    POLL_SECONDS = 0.05

    def __init__(self, host: str, port: int):
        self._host = host.strip("[]")
        self._port = port
        self._server: ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        """Starts serving; returns the port (the one chosen when asked for port 0)."""
        # A `_created` series beside every counter and histogram doubles what is scraped
        # for a value the text format does not need.
        disable_created_metrics()
        server_class = _Ipv6Server if ":" in self._host else ThreadingWSGIServer
        self._server = make_server(
            self._host, self._port, make_wsgi_app(), server_class, handler_class=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": self.POLL_SECONDS},
            name="metrics-endpoint",
            daemon=True,
        )
        self._thread.start()
        return self._server.server_port

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None
