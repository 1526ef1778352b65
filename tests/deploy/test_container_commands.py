"""Every Airspace container of compose/docker-compose.yml as a plain process: its image's
entrypoint and environment, the service's command and environment, secrets as files, ports
remapped to free 127.0.0.1 ports. Each must print READY and pass the compose health check
(grpc.health.v1 SERVING), then stop cleanly. Dependencies are not started: every service
comes up without them and connects when they appear."""

import os
import pathlib
import secrets
import subprocess
import sys

import pytest
from deploy_files import ROOT, compose_file, dockerfile_stages, exec_form

from airspace.cli import local_mesh
from airspace.cli.processes import ManagedProcess, free_port
from airspace.gateway.api_keys import ApiKeyStore

pytestmark = [pytest.mark.process, pytest.mark.timeout(180)]

STAGES = {stage.name: stage for stage in dockerfile_stages()}
SERVICES = {
    name: service
    for name, service in compose_file()["services"].items()
    if service.get("build", {}).get("target") in STAGES
}
# Container paths and what stands in for them on this machine.
IMAGE_PATHS = {"/opt/airspace/protos": str(ROOT / "protos")}
SECRETS_DIR = "/run/secrets/"


def secret_files(folder: pathlib.Path) -> dict[str, str]:
    """A stand-in for each compose secret, by the path the container would see."""
    folder.mkdir()
    (folder / "mesh_key").write_text(secrets.token_hex(32))
    ApiKeyStore(folder / "api_keys").create("user:ops", "default", ("admin",))
    return {SECRETS_DIR + path.name: str(path) for path in folder.iterdir()}


def local_program(argv: list[str], workdir: pathlib.Path) -> list[str]:
    """A container command line as this machine runs it: this Python, files in the repo."""
    program, *rest = argv
    if program == "python":
        return [sys.executable, *rest]
    return [program, *(str(workdir / arg) if (workdir / arg).is_file() else arg for arg in rest)]


def container_env(service: dict, stage, data_dir: pathlib.Path, files: dict) -> dict[str, str]:
    env = {**stage.env(), **service.get("environment", {})}
    env.pop("PATH", None)  # the image's venv: here, this interpreter's
    env |= {
        "AIRSPACE_HOST": "127.0.0.1",
        "AIRSPACE_PORT": str(free_port()),
        "AIRSPACE_DATA_DIR": str(data_dir),
    }
    if "AIRSPACE_METRICS_PORT" in env:
        env["AIRSPACE_METRICS_PORT"] = str(free_port())
    return {key: files.get(value, IMAGE_PATHS.get(value, value)) for key, value in env.items()}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_the_container_command_starts_and_serves_grpc_health(name, tmp_path):
    service = SERVICES[name]
    stage = STAGES[service["build"]["target"]]
    if stage.name == "node-agent" and not local_mesh.node_agent_available():
        pytest.skip("node or the Node.js agent's packages are not installed")
    workdir = ROOT / "agents" / "node" if stage.name == "node-agent" else ROOT
    env = container_env(service, stage, tmp_path / "data", secret_files(tmp_path / "secrets"))
    argv = local_program([*exec_form(stage.last("ENTRYPOINT")), *service["command"]], workdir)
    port = int(env["AIRSPACE_PORT"])
    process = ManagedProcess(name, "", port, env, log_dir=tmp_path, command=tuple(argv))
    process.start()  # waits for READY
    try:
        _, *check = service["healthcheck"]["test"]  # after "CMD"
        health = subprocess.run(
            local_program(check, workdir),
            env={"PATH": os.environ["PATH"], **env},
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert health.returncode == 0, health.stdout + health.stderr
        assert health.stdout.strip().endswith("SERVING")
    finally:
        process.stop()
    assert process.process is not None and process.process.returncode == 0, process.log_path
