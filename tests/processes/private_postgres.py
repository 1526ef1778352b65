"""A PostgreSQL cluster of the test's own (initdb, pg_ctl), which it may restart at will:
the shared server on 5432 must never be restarted under other tests.

PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user.
Without the server binaries the test is skipped, unless AIRSPACE_REQUIRE_POSTGRES=1 (CI).
"""

from __future__ import annotations

import os
import pathlib
import pwd
import shutil
import subprocess
import tempfile

import pytest

from airspace.cli.processes import free_port

_BINARIES = ("initdb", "pg_ctl")
_SEARCH = ("/usr/lib/postgresql/*/bin", "/usr/local/bin", "/usr/bin")


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for pattern in _SEARCH:
        for folder in sorted(pathlib.Path("/").glob(pattern.lstrip("/")), reverse=True):
            if (folder / name).exists():
                return str(folder / name)
    return None


def _missing(problem: str) -> None:
    if os.environ.get("AIRSPACE_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{problem} (AIRSPACE_REQUIRE_POSTGRES=1)")
    pytest.skip(problem)


class PrivateCluster:
    """initdb'd into a fresh folder, trusting local connections, on a free port."""

    def __init__(self) -> None:
        binaries = {name: _binary(name) for name in _BINARIES}
        absent = [name for name, path in binaries.items() if path is None]
        if absent:
            _missing(f"no PostgreSQL server binaries ({', '.join(absent)}) to start a cluster")
        self._initdb, self._pg_ctl = (str(binaries[name]) for name in _BINARIES)
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                _missing("running as root with no `postgres` user to run a cluster as")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self.folder = pathlib.Path(tempfile.mkdtemp(prefix="airspace-pg-"))
        if self._as_user:
            shutil.chown(self.folder, "postgres")
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as_user, *command], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run(
            self._initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )
        self._pg_ctl_do("start")

    def restart(self) -> None:
        """A fast restart: open connections are cut, committed transactions stay."""
        self._pg_ctl_do("restart", "-m", "fast")

    def _pg_ctl_do(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=on"
        self._run(
            self._pg_ctl,
            action,
            "-D",
            str(self.data),
            "-w",
            "-o",
            options,
            "-l",
            str(self.folder / "server.log"),
            *extra,
        )

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(
                [*self._as_user, self._pg_ctl, "stop", "-D", str(self.data), "-m", "immediate"],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(self.folder, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = (self.folder / "server.log").read_text()
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(name="postgres_cluster")
def postgres_cluster_fixture():
    """A running cluster of the test's own, removed afterwards."""
    cluster = PrivateCluster()
    cluster.start()
    yield cluster
    cluster.stop()
