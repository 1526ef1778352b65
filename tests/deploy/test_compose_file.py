"""compose/docker-compose.yml against the Compose Specification's JSON schema, and what it
must say: every service health-checked over grpc.health.v1, two routers behind the gateway,
keys only from secret files, every metrics port scraped, spans on their way to Jaeger."""

import pytest
import yaml
from deploy_files import COMPOSE, compose_file, compose_validator

pytestmark = pytest.mark.unit

AIRSPACE_IMAGES = ("airspace:", "airspace-node-agent:")
GRPC_HEALTH = (
    ["CMD", "python", "-m", "airspace.mesh.healthcheck"],
    ["CMD", "node", "healthcheck.js"],
)


def airspace_services() -> dict[str, dict]:
    services = compose_file()["services"]
    return {
        name: service
        for name, service in services.items()
        if service["image"].startswith(AIRSPACE_IMAGES)
    }


def test_the_compose_file_is_valid_against_the_compose_specification():
    errors = sorted(compose_validator().iter_errors(compose_file()), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_it_runs_the_whole_mesh_the_agents_and_the_observability_stack():
    services = compose_file()["services"]
    assert {
        *("gateway", "router", "state", "policy", "tracing", "postgres"),
        *("contract-extractor", "compliance-checker", "summary-writer", "risk-scorer"),
        *("otel-collector", "jaeger", "prometheus"),
    } <= set(services)
    assert services["router"]["deploy"]["replicas"] == 2
    gateway = services["gateway"]["environment"]
    assert gateway["AIRSPACE_GATEWAY_ROUTER_ENDPOINT"] == "dns:///router:50051"
    assert services["risk-scorer"]["build"]["target"] == "node-agent"


def test_every_airspace_service_is_health_checked_over_grpc_health():
    for name, service in airspace_services().items():
        assert service["healthcheck"]["test"] in GRPC_HEALTH, name


def test_keys_come_from_secret_files_never_from_the_file_itself():
    document = compose_file()
    for name, service in document["services"].items():
        for variable, value in (service.get("environment") or {}).items():
            assert variable not in ("AIRSPACE_MESH_KEY", "AIRSPACE_API_KEY"), name
            assert "PASSWORD" not in variable or variable.endswith("_FILE"), (name, variable)
            assert "postgresql://" not in str(value), (name, variable)
        for env_file in service.get("env_file", []):
            assert env_file.startswith("secrets/"), (name, env_file)
    assert {secret["file"] for secret in document["secrets"].values()} == {
        "./secrets/mesh.key",
        "./secrets/api_keys.json",
        "./secrets/postgres_password",
    }
    # The secrets folder is never committed, except the rule that says so.
    assert (COMPOSE / "secrets" / ".gitignore").read_text().splitlines()[-2:] == [
        "*",
        "!.gitignore",
    ]


def test_mesh_members_get_the_mesh_key_and_agents_do_not():
    for name, service in airspace_services().items():
        members = "AIRSPACE_MESH_KEY_FILE" in (service.get("environment") or {})
        assert members == ("mesh_key" in service.get("secrets", [])), name
        assert members == (name in ("gateway", "router", "state", "policy", "tracing")), name


def test_prometheus_scrapes_every_service_that_serves_metrics():
    prometheus = yaml.safe_load((COMPOSE / "prometheus.yml").read_text())
    targets, discovered = set(), set()
    for job in prometheus["scrape_configs"]:
        for static in job.get("static_configs", []):
            targets.update(static["targets"])
        for dns in job.get("dns_sd_configs", []):
            discovered.update(f"{name}:{dns['port']}" for name in dns["names"])
    python_services = {
        name for name, service in airspace_services().items() if name != "risk-scorer"
    }
    assert {f"{name}:9464" for name in python_services} == targets | discovered


def test_spans_go_through_the_trace_collector_and_the_otel_collector_to_jaeger():
    services = compose_file()["services"]
    assert services["tracing"]["environment"]["AIRSPACE_TRACE_FORWARD_ENDPOINT"] == (
        "otel-collector:4317"
    )
    collector = yaml.safe_load((COMPOSE / "otel-collector.yaml").read_text())
    pipeline = collector["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"]
    [exporter] = pipeline["exporters"]
    assert collector["exporters"][exporter]["endpoint"] == "jaeger:4317"


def test_the_schema_catches_a_misspelled_setting():
    document = compose_file()
    document["services"]["router"]["helthcheck"] = document["services"]["router"]["healthcheck"]
    assert not compose_validator().is_valid(document)
