"""`airspace up` as a child process: started until ready, its processes found, the CLI run
against it."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "workflows" / "inputs" / "msa.txt"


def mesh_processes(supervisor: subprocess.Popen) -> list[int]:
    """Processes started by this supervisor (their environment names it), agents included."""
    marker = f"AIRSPACE_SUPERVISOR_PID={supervisor.pid}".encode()
    found = []
    for proc in pathlib.Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def start_up(home: pathlib.Path, port: int, *options: str) -> tuple[subprocess.Popen, list[str]]:
    """`airspace up` with `options`, once ready; with the lines it printed until then."""
    up = subprocess.Popen(
        [
            sys.executable,
            *("-m", "airspace.cli.main", "up"),
            *("--port", str(port), "--home", str(home), *options),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "COLUMNS": "200"},
        cwd=ROOT,
    )
    # Many processes share the CPU while they start: slow on a loaded machine.
    deadline = time.monotonic() + 150
    seen = []
    while time.monotonic() < deadline:
        line = up.stdout.readline().decode()
        seen.append(line)
        if line.startswith("ready"):
            return up, seen
        if not line and up.poll() is not None:
            break
    up.kill()
    raise AssertionError("airspace up did not become ready:\n" + "".join(seen))


def cli(home: pathlib.Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "airspace.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "AIRSPACE_HOME": str(home), "COLUMNS": "200"},
        cwd=ROOT,
    )
