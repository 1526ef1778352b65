"""Test tiers: every test module says which one it belongs to with `pytestmark`.

- unit: pure logic in this process, no servers (`make test-fast`);
- mesh: real gRPC servers in this process;
- process: real subprocesses (services, agents, the CLI).
"""

import pytest

TIERS = ("unit", "mesh", "process")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tiers = {mark.name for mark in item.iter_markers() if mark.name in TIERS}
        if len(tiers) != 1:
            raise pytest.UsageError(
                f"{item.nodeid}: mark its module with exactly one tier of {', '.join(TIERS)} "
                f"(pytestmark = pytest.mark.unit), not {sorted(tiers) or 'none'}"
            )
