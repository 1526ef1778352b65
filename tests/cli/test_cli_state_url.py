"""`airspace up --state-url`: the state service of the local mesh keeps its data in the
PostgreSQL database named, and nobody else is told the URL."""

import pytest

from airspace.cli import local_mesh

pytestmark = pytest.mark.unit

URL = "postgresql://airspace:secret@db.internal:5432/airspace"


def test_the_state_url_reaches_the_state_service_only(tmp_path):
    processes = {p.name: p for p in local_mesh.plan(tmp_path, 50051, False, state_url=URL)}
    assert processes["state"].env["AIRSPACE_STATE_URL"] == URL
    others = [p for name, p in processes.items() if name != "state"]
    assert others and all("AIRSPACE_STATE_URL" not in p.env for p in others)


def test_without_a_state_url_the_state_service_uses_sqlite(tmp_path):
    state = next(p for p in local_mesh.plan(tmp_path, 50051, False) if p.name == "state")
    assert "AIRSPACE_STATE_URL" not in state.env
