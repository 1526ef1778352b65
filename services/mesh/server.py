"""One way to build and run every Airspace server.

    srv = MeshServer("state", settings)
    srv.add_service(state_pb2_grpc.add_StateServiceServicer_to_server, servicer)
    run(srv)            # blocks; SIGTERM/SIGINT shut it down gracefully

Health (grpc.health.v1) reports SERVING after start and NOT_SERVING during
shutdown; reflection (with method-name lookups) lists every added service.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from services.mesh import reflection, telemetry
from services.mesh.interceptor import MeshInterceptor
from services.mesh.settings import ServerSettings

log = logging.getLogger("airspace.mesh")


class _ServiceNameRecorder:
    """Stands in for the server while a generated add_*_to_server runs, to learn
    the full name of the service it registers."""

    def __init__(self, server: grpc.aio.Server):
        self._server = server
        self.names: list[str] = []

    def add_generic_rpc_handlers(self, handlers):
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(self, service_name, handlers):
        self.names.append(service_name)
        self._server.add_registered_method_handlers(service_name, handlers)


class MeshServer:
    """A grpc.aio server with the mesh's interceptor, limits, health and reflection.

    The underlying server is built in start(), inside the running event loop."""

    def __init__(self, name: str, settings: ServerSettings, *, authenticate: bool = True):
        self.name = name
        self.settings = settings
        self.authenticate = authenticate
        self.port: int | None = None
        self.service_names: list[str] = []
        self._registrations: list[tuple[Callable, object, bool]] = []
        self._on_stop: list[Callable[[], Awaitable[None]]] = []
        self._server: grpc.aio.Server | None = None
        self._health: health.aio.HealthServicer | None = None

    def add_service(self, add_to_server, servicer, *, anonymous: bool = False) -> None:
        """Registers a generated servicer; `anonymous` services accept calls without an
        identity (e.g. the OTLP receiver, which SDKs in any language call)."""
        self._registrations.append((add_to_server, servicer, anonymous))

    def add_generic_handler(self, service_name: str, handler: grpc.GenericRpcHandler) -> None:
        """Registers a hand-built handler (the gateway's forwarding) under a service name."""
        self._registrations.append((_generic(service_name, handler), None, False))

    def on_stop(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Runs after the server stopped taking calls (close stores, flush queues)."""
        self._on_stop.append(callback)

    async def start(self) -> int:
        anonymous: set[str] = set()
        self._server = grpc.aio.server(
            interceptors=[MeshInterceptor(self.settings.mesh_key, self.authenticate, anonymous)],
            maximum_concurrent_rpcs=self.settings.max_concurrent_rpcs,
            options=[
                ("grpc.max_receive_message_length", self.settings.max_message_bytes),
                ("grpc.max_send_message_length", self.settings.max_message_bytes),
                ("grpc.so_reuseport", 0),
            ],
        )
        for add_to_server, servicer, is_anonymous in self._registrations:
            recorder = _ServiceNameRecorder(self._server)
            add_to_server(servicer, recorder)
            self.service_names.extend(recorder.names)
            if is_anonymous:
                anonymous.update(recorder.names)
        self._health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        reflection.enable(self._server, self.service_names)
        self.port = self._server.add_insecure_port(self.settings.address)
        if not self.port:
            raise OSError(f"{self.name}: cannot listen on {self.settings.address}")
        await self._server.start()
        for service in ("", *self.service_names):
            await self._health.set(service, health_pb2.HealthCheckResponse.SERVING)
        log.info("%s listening on %s:%d", self.name, self.settings.host, self.port)
        return self.port

    async def stop(self, grace: float | None = None) -> None:
        if self._server is None:
            return
        await self._health.enter_graceful_shutdown()
        await self._server.stop(self.settings.grace_seconds if grace is None else grace)
        for callback in reversed(self._on_stop):
            await callback()
        self._server = None

    async def wait(self) -> None:
        await self._server.wait_for_termination()


def _generic(service_name: str, handler: grpc.GenericRpcHandler):
    def add_to_server(_servicer, server):
        server.add_generic_rpc_handlers((handler,))
        server.names.append(service_name)

    return add_to_server


async def serve(server: MeshServer) -> None:
    """Starts the server and runs until SIGTERM or SIGINT, then shuts down gracefully.

    Prints "READY <name> <port>" once serving, so a supervisor can use port 0."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    port = await server.start()
    print(f"READY {server.name} {port}", flush=True)
    await stopping.wait()
    log.info("%s shutting down", server.name)
    await server.stop()
    telemetry.shutdown()


def run(server: MeshServer) -> None:
    """Blocking entry point for a service's main()."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(serve(server))
