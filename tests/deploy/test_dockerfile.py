"""compose/Dockerfile, read without an engine: a builder that installs the wheel into a venv,
slim runtime stages that run as an unprivileged user, a grpc.health.v1 HEALTHCHECK, the
service as the command, and no key baked in."""

import importlib.util
import pathlib

import pytest
from deploy_files import COMPOSE, ROOT, dockerfile_stages, exec_form

pytestmark = pytest.mark.unit

STAGES = {stage.name: stage for stage in dockerfile_stages()}


def test_a_builder_stage_installs_the_wheel_into_a_venv_that_the_runtime_copies():
    assert list(STAGES) == ["builder", "node-agent", "runtime"]
    [install] = STAGES["builder"].all("RUN")
    assert "python -m venv /opt/airspace" in install
    assert "pip wheel --no-deps" in install and "pip install /wheels/airspace-" in install
    assert "--from=builder /opt/airspace /opt/airspace" in STAGES["runtime"].all("COPY")


def test_the_last_stage_is_the_slim_python_runtime_with_the_service_as_its_command():
    runtime = dockerfile_stages()[-1]
    assert runtime.name == "runtime" and runtime.base == "${PYTHON_IMAGE}"
    assert "-slim" in next(line for line in _args() if line.startswith("PYTHON_IMAGE="))
    assert exec_form(runtime.last("ENTRYPOINT")) == ["python", "-m"]
    [module] = exec_form(runtime.last("CMD"))
    assert importlib.util.find_spec(module) is not None


def test_runtime_stages_run_as_a_user_without_privileges():
    assert STAGES["runtime"].last("USER") == "10001:10001"
    assert STAGES["node-agent"].last("USER") == "node"


@pytest.mark.parametrize(
    ("stage", "check"),
    [
        ("runtime", ["python", "-m", "airspace.mesh.healthcheck"]),
        ("node-agent", ["node", "healthcheck.js"]),
    ],
)
def test_the_healthcheck_asks_grpc_health(stage, check):
    options, _, command = STAGES[stage].last("HEALTHCHECK").partition(" CMD ")
    assert exec_form(command) == check
    assert "--interval=" in options and "--timeout=" in options


def test_every_copied_path_exists_and_the_build_context_keeps_it():
    ignored = (COMPOSE / "Dockerfile.dockerignore").read_text().splitlines()
    for stage in STAGES.values():
        for copy in stage.all("COPY"):
            if copy.startswith("--from="):
                continue
            *sources, _ = copy.split()
            for source in sources:
                assert (ROOT / source).exists(), source
                top = pathlib.PurePosixPath(source).parts[0]
                assert top not in ignored, source


def test_no_key_or_password_is_baked_into_the_image():
    for stage in STAGES.values():
        for variable in stage.env():
            assert not any(word in variable for word in ("KEY", "PASSWORD", "SECRET", "TOKEN"))
        assert not any("secrets" in copy for copy in stage.all("COPY"))


def _args() -> list[str]:
    text = (COMPOSE / "Dockerfile").read_text()
    return [line.removeprefix("ARG ") for line in text.splitlines() if line.startswith("ARG ")]
