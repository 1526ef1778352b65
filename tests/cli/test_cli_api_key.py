"""`airspace admin api-key` writes a key the gateway's key store accepts."""

import pytest

from airspace.cli.main import main
from airspace.gateway.api_keys import ApiKeyStore

pytestmark = pytest.mark.unit


def test_a_created_key_authenticates_its_principal_and_only_its_hash_is_stored(tmp_path, capsys):
    keys = tmp_path / "secrets" / "api_keys.json"
    argv = ["admin", "api-key", "--file", str(keys), "--principal", "user:ops"]
    assert main([*argv, "--tenant", "acme", "--role", "admin", "--role", "operator"]) == 0
    key = capsys.readouterr().out.strip()
    who = ApiKeyStore(keys).authenticate(key)
    assert (who.principal, who.tenant, who.roles) == ("user:ops", "acme", ("admin", "operator"))
    assert key not in keys.read_text()
