"""Child processes of `airspace up`: started in order, watched, restarted, stopped cleanly.

Each mesh child dies with the supervisor (see services/airspace/mesh/lifeline.py), so even a
killed supervisor leaves no orphans.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import signal
import socket
import subprocess
import sys
import threading
import time

from airspace.mesh import lifeline

# Generous: processes started side by side share the CPU while they import.
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


DEFAULT_GATEWAY_PORT = 50051


def port_free(port: int) -> bool:
    """Whether a server could listen on the port now. SO_REUSEADDR as servers set it, so
    connections of a stopped mesh still in TIME-WAIT do not count as a listener."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclasses.dataclass
class ManagedProcess:
    name: str
    module: str
    port: int
    env: dict[str, str]
    args: tuple[str, ...] = ()
    log_dir: pathlib.Path = pathlib.Path(".")
    # A program other than `python -m module` (e.g. the Node.js agent): the whole command.
    command: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    # Where it serves Prometheus metrics, as its READY line says (0: it serves none).
    metrics_port: int = 0
    # The agents it serves, by name, with their ports: registered once it is ready.
    agents: dict[str, int] = dataclasses.field(default_factory=dict)
    _ready_by: float = 0.0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> pathlib.Path:
        return self.log_dir / f"{self.name}.log"

    def start(self) -> None:
        """Starts the process and waits for its READY line (its port is fixed up front,
        so a restarted process comes back where the others expect it)."""
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Starts the process without waiting: several can start at once, then be waited for."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                list(self.command) or [sys.executable, "-m", self.module, *self.args],
                env={**os.environ, **self.env, lifeline.ENV: str(os.getpid())},
                stdout=subprocess.PIPE,
                stderr=log,
            )
        self._ready_by = time.monotonic() + READY_TIMEOUT_SECONDS

    def wait_ready(self) -> None:
        """Waits for the spawned process's READY line, within its time from the spawn."""
        process = self.process
        assert process is not None and process.stdout is not None, "spawn() first"
        while time.monotonic() < self._ready_by:
            line = process.stdout.readline().decode(errors="replace")
            if line.startswith("READY "):
                fields = dict(part.split("=", 1) for part in line.split()[3:] if "=" in part)
                self.metrics_port = int(fields.get("metrics", 0))
                _drain_to(process.stdout, self.log_path)
                return
            if not line and process.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"{self.name} did not start; see {self.log_path}")

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} was not started")
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def terminate(self) -> None:
        # send_signal does nothing once the process has ended.
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        self.terminate()
        self.wait(STOP_TIMEOUT_SECONDS)

    def kill(self) -> None:
        """SIGKILL, for a process too stuck to act on SIGTERM."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _drain_to(stream, path: pathlib.Path) -> None:
    """Copies the rest of a child's stdout to its log without blocking the supervisor."""

    def copy():
        with open(path, "ab") as log:
            for line in iter(stream.readline, b""):
                log.write(line)
                log.flush()

    threading.Thread(target=copy, daemon=True).start()


def stop_all(children: list[ManagedProcess]) -> None:
    """Stops children in reverse start order, each before the next, so callers go before
    what they call (agents and router flush their spans while the collector still runs).
    SIGKILL ends what outlives the grace."""
    for child in reversed(children):
        child.stop()
