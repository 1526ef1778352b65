"""Finding the gateway and the API key: flag, environment, credentials file, defaults."""

import json

import pytest

from airspace.cli.connection import DEFAULT_GATEWAY, credentials_path, resolve
from airspace.cli.output import UsageError

pytestmark = pytest.mark.unit

STORED = {
    "gateway": "127.0.0.1:6000",
    "api_key": "ask_from_file",
    "principal": "user:dev",
    "tenant": "default",
}


def write_credentials(home, data) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "credentials.json").write_text(json.dumps(data))


def test_credentials_file_under_airspace_home_is_used(tmp_path):
    write_credentials(tmp_path / "home", STORED)
    target = resolve(env={"AIRSPACE_HOME": str(tmp_path / "home")})
    assert (target.gateway, target.api_key) == ("127.0.0.1:6000", "ask_from_file")
    assert (target.principal, target.tenant) == ("user:dev", "default")


def test_default_home_is_dot_airspace_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_credentials(tmp_path / ".airspace", STORED)
    assert credentials_path({}) == tmp_path.joinpath(".airspace", "credentials.json").relative_to(
        tmp_path
    )
    assert resolve(env={}).api_key == "ask_from_file"


def test_environment_overrides_the_file(tmp_path):
    write_credentials(tmp_path, STORED)
    target = resolve(
        env={
            "AIRSPACE_HOME": str(tmp_path),
            "AIRSPACE_GATEWAY": "gw.internal:443",
            "AIRSPACE_API_KEY": "ask_from_env",
        }
    )
    assert (target.gateway, target.api_key) == ("gw.internal:443", "ask_from_env")


def test_gateway_flag_overrides_environment_and_file(tmp_path):
    write_credentials(tmp_path, STORED)
    env = {"AIRSPACE_HOME": str(tmp_path), "AIRSPACE_GATEWAY": "gw.internal:443"}
    target = resolve("10.0.0.5:50051", env=env)
    assert (target.gateway, target.api_key) == ("10.0.0.5:50051", "ask_from_file")


def test_defaults_without_any_credentials(tmp_path):
    target = resolve(env={"AIRSPACE_HOME": str(tmp_path / "nothing-here")})
    assert (target.gateway, target.api_key) == (DEFAULT_GATEWAY, "")


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_unreadable_credentials_are_a_usage_error_naming_the_file(tmp_path, content):
    (tmp_path / "credentials.json").write_text(content)
    with pytest.raises(UsageError, match="credentials.json"):
        resolve(env={"AIRSPACE_HOME": str(tmp_path)})
