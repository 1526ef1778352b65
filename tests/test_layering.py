"""The import graph of the hand-written code: no cycles, and layers that only look down.

Layers, lowest first: the mesh kit, the shared libraries (CEL conditions, PII scanning,
JSON pointers: the policy engine), the services, the CLI. The CLI talks to the mesh
through the public API like any client, so it imports no service's internals.
"""

import ast
import pathlib

import pytest

pytestmark = pytest.mark.unit

REPO = pathlib.Path(__file__).resolve().parent.parent
# The folders that hold the `airspace` namespace by hand (protos/ holds the generated part).
SOURCE_ROOTS = ("services", "gateway", "policy", "agents")

LAYERS = (
    ("mesh kit", ("airspace.mesh",)),
    ("shared libraries", ("airspace.policy.engine",)),
    (
        "services",
        (
            "airspace.router",
            "airspace.state",
            "airspace.policy",
            "airspace.tracing",
            "airspace.gateway",
            "airspace.agents",
            "airspace.conformance",
            "airspace.a2a_bridge",
        ),
    ),
    ("CLI", ("airspace.cli",)),
)

# What the CLI may import besides itself: the public API's generated code (airspace.v1
# and the agent and trace messages it carries) and the mesh kit's client-side parts.
CLI_MAY_IMPORT = (
    "airspace.cli",
    "airspace.v1",
    "airspace.agent.v1",
    "airspace.trace.v1",
    "airspace.mesh.errors",  # the google.rpc details of a failed call
    "airspace.mesh.reasons",  # what a failure's catalogued reason means
    "airspace.mesh.json_values",  # the limits the JSON values of a request must keep
    "airspace.mesh.database_urls",  # `airspace up --state-url`, shown without its password
    "airspace.mesh.identity",  # the developer's identity that `airspace up` creates
    "airspace.mesh.lifeline",  # the processes `airspace up` starts end with it
    "airspace.mesh.telemetry_credentials",  # the credential an agent exports its spans with
)
CLI_EXCEPTIONS = {
    ("airspace.cli.local_mesh", "airspace.gateway.api_keys"): (
        "`airspace up` writes the developer's first API key into the gateway's key file "
        "before the gateway starts"
    ),
    ("airspace.cli.commands_agent_check", "airspace.conformance"): (
        "`airspace agent-check` runs the conformance kit in-process; the kit is itself a "
        "client of the public agent contract"
    ),
    ("airspace.cli.commands_agent_check", "airspace.conformance.runner"): "the same as above",
    ("airspace.cli.commands_admin", "airspace.state.opening"): (
        "`airspace admin migrate` upgrades the state database's schema before the state "
        "service starts on it, so it opens the database itself"
    ),
    ("airspace.cli.commands_admin", "airspace.state.migrations"): "the same as above",
    ("airspace.cli.commands_admin", "airspace.state.settings"): (
        "the same: it finds the database where the state service's settings put it"
    ),
    ("airspace.cli.commands_admin", "airspace.mesh.settings"): "the same as above",
    ("airspace.cli.commands_admin", "airspace.gateway.api_keys"): (
        "`airspace admin api-key` adds a key to a deployment's key file, which the gateway "
        "reads; no gateway needs to run"
    ),
    ("airspace.cli.local_ca", "airspace.mesh.peer_certificates"): (
        "`airspace up --tls` issues each service a certificate that names it the way the "
        "mesh's servers read it"
    ),
    ("airspace.cli.watchdog", "airspace.mesh.healthcheck"): (
        "`airspace up` asks its agents' standard gRPC health service, as the containers' "
        "health check does"
    ),
}


def hand_written_modules() -> dict[str, pathlib.Path]:
    modules = {}
    for root in SOURCE_ROOTS:
        for path in (REPO / root / "airspace").rglob("*.py"):
            parts = path.relative_to(REPO / root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def imported_names(module: str, path: pathlib.Path, known: set[str]) -> set[str]:
    """The modules `module` imports: for `from a import b`, a.b when that is a module.
    (The code base uses absolute imports only.)"""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                names.add(submodule if submodule in known else node.module)
    return names - {module}


@pytest.fixture(scope="module")
def imports() -> dict[str, set[str]]:
    """Every hand-written module and the modules (of any package) it imports."""
    modules = hand_written_modules()
    known = set(modules)
    return {name: imported_names(name, path, known) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        order[node] = low[node] = len(order)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in graph:
                continue
            if target not in order:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], order[target])
        if low[node] == order[node]:
            component = []
            while (member := stack.pop()) != node:
                component.append(member)
            if component:
                found.append(sorted([node, *component]))

    for node in sorted(graph):
        if node not in order:
            visit(node)
    return found


def layer_of(module: str) -> int | None:
    """The index of the module's layer, by the longest package prefix that names one."""
    matches = [
        (len(prefix), index)
        for index, (_, prefixes) in enumerate(LAYERS)
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    return max(matches)[1] if matches else None


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def test_the_hand_written_modules_import_each_other_without_cycles(imports):
    assert cycles(imports) == []


def test_no_layer_imports_a_higher_one(imports):
    upward = {
        (module, target): f"{LAYERS[layer_of(module)][0]} imports {LAYERS[layer_of(target)][0]}"
        for module, targets in imports.items()
        for target in targets
        if layer_of(module) is not None
        and layer_of(target) is not None
        and layer_of(target) > layer_of(module)
    }
    assert upward == {}


def test_the_cli_uses_the_public_api_and_no_service_internals(imports):
    internal = {
        (module, target)
        for module, targets in imports.items()
        if within(module, ("airspace.cli",))
        for target in targets
        if target.startswith("airspace.") and not within(target, CLI_MAY_IMPORT)
    }
    assert internal - set(CLI_EXCEPTIONS) == set()
    assert sorted(CLI_EXCEPTIONS) == sorted(internal & set(CLI_EXCEPTIONS))


def test_the_checks_find_a_cycle_and_a_module_imported_from_its_package():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    path = REPO / "services" / "airspace" / "cli" / "main.py"
    known = set(hand_written_modules())
    assert "airspace.cli.supervisor" in imported_names("airspace.cli.main", path, known)
