"""`airspace workflows schema` prints the schema the router's validator is checked against."""

import json
import pathlib

import pytest

from airspace.cli.main import main

pytestmark = pytest.mark.unit

SCHEMA = (
    pathlib.Path(__file__).resolve().parents[2] / "workflows" / "schema" / "workflow.schema.json"
)


def test_the_schema_command_prints_the_workflow_schema(capsys):
    assert main(["workflows", "schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(SCHEMA.read_text())
    assert printed["properties"]["pattern"]["enum"] == [
        "sequential",
        "concurrent",
        "group_chat",
        "handoff",
    ]
