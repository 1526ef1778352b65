"""Every command answers --help with examples; bad arguments are usage errors (exit 2)."""

import pytest
from google.protobuf.json_format import MessageToDict

from airspace.cli.commands_runs import parse_input
from airspace.cli.main import main

pytestmark = pytest.mark.unit

COMMANDS = [
    [],
    ["up"],
    ["demo"],
    ["run"],
    ["runs"],
    ["runs", "list"],
    ["runs", "show"],
    ["runs", "watch"],
    ["runs", "cancel"],
    ["workflows"],
    ["workflows", "apply"],
    ["workflows", "list"],
    ["workflows", "show"],
    ["agents"],
    ["agents", "list"],
    ["agents", "register"],
    ["agents", "show"],
    ["agents", "remove"],
    ["approvals"],
    ["approvals", "list"],
    ["approvals", "show"],
    ["approvals", "approve"],
    ["approvals", "reject"],
    ["trace"],
    ["audit"],
    ["audit", "resolve"],
    ["agent"],
    ["agent", "check"],
    ["audit", "list"],
    ["audit", "verify"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "airspace")
def test_help_exits_zero_with_examples(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    assert help_text.startswith("usage: airspace")
    assert "examples:" in help_text or "commands:" in help_text
    if len(command) == 2 or command in (["run"], ["trace"]):
        assert "examples:" in help_text and "--gateway" in help_text


@pytest.mark.parametrize(
    "argv",
    [
        ["runs"],
        ["runs", "list", "--state", "sleeping"],
        ["runs", "list", "--limit", "0"],
        ["frobnicate"],
    ],
)
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "usage: airspace" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[1, 2]", "--input: expected a JSON object, got list"),
        ("{oops", "--input: invalid JSON: Expecting property name"),
        ("@/nonexistent/input.json", "--input: cannot read /nonexistent/input.json"),
    ],
)
def test_bad_run_input_is_one_readable_line(value, message, capsys):
    assert main(["run", "contract-review", "--input", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}")
    assert len(err.strip().splitlines()) == 1


def test_a_text_file_is_the_runs_input_text_and_a_json_file_its_object(tmp_path):
    contract = tmp_path / "msa.txt"
    contract.write_text("MASTER SERVICES AGREEMENT\n{not json}")
    assert MessageToDict(parse_input(f"@{contract}")) == {"text": contract.read_text()}
    document = tmp_path / "input.json"
    document.write_text('{"text": "hi", "priority": 2}')
    assert MessageToDict(parse_input(f"@{document}")) == {"text": "hi", "priority": 2}
