"""API keys: the key file, constant-time lookup, and `platformctl api keygen`."""

import json
import os
import stat

import pytest
from click.testing import CliRunner

from opsapi.keys import KeyFileError, find_key, hash_key, load_keys, new_key, parse_keys
from platformctl.main import cli


def test_keys_are_found_by_hash_and_scopes_are_kept(tmp_path):
    key, entry = new_key("ci", ["read", "trigger"])
    assert entry == {"name": "ci", "sha256": hash_key(key), "scopes": ["read", "trigger"]} and key not in json.dumps(entry)
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"keys": [entry, new_key("other", ["read"])[1]]}))
    keys = load_keys(str(path))
    found = find_key(keys, key)
    assert found.name == "ci" and found.scopes == {"read", "trigger"}
    assert find_key(keys, key[:-1]) is None and find_key(keys, "") is None


@pytest.mark.parametrize(
    "data, message",
    [
        ({"nope": []}, 'expected {"keys": [...]}'),
        ({"keys": [{"name": "a"}]}, "keys[0] needs name, sha256 and scopes"),
        ({"keys": [{"name": "a", "sha256": "xyz", "scopes": ["read"]}]}, "keys[0] (a): sha256 is not 64 hex digits"),
        ({"keys": [{"name": "a", "sha256": "0" * 64, "scopes": ["admin"]}]}, "keys[0] (a): scopes must be a list among read, trigger, revoke"),
        ({"keys": [{"name": "a", "sha256": "0" * 64, "scopes": []}, {"name": "a", "sha256": "1" * 64, "scopes": []}]}, "key name 'a' appears twice"),
    ],
)
def test_a_malformed_key_file_is_refused_naming_the_problem(data, message):
    with pytest.raises(KeyFileError, match="keys.json: ") as error:
        parse_keys(data, "keys.json")
    assert message in str(error.value)


def test_no_file_means_no_keys_and_a_broken_file_is_refused(tmp_path):
    assert load_keys("") == [] and load_keys(str(tmp_path / "missing.json")) == []
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(KeyFileError, match=r"OPS_API_KEYS_FILE=.*bad.json: not JSON"):
        load_keys(str(tmp_path / "bad.json"))


def test_keygen_prints_the_key_once_and_adds_its_entry(tmp_path):
    path = tmp_path / "keys.json"
    env = {"OPS_API_KEYS_FILE": str(path)}
    result = CliRunner().invoke(cli, ["api", "keygen", "grafana", "--scopes", "read"], env=env)
    assert result.exit_code == 0 and not path.exists()  # printed only
    result = CliRunner().invoke(cli, ["api", "keygen", "ops", "--scopes", "read,trigger,revoke", "--add"], env=env)
    assert result.exit_code == 0, result.output
    key = result.output.split("keep it secret): ")[1].split()[0]
    [entry] = json.loads(path.read_text())["keys"]
    assert entry["name"] == "ops" and entry["sha256"] == hash_key(key) and entry["scopes"] == ["read", "revoke", "trigger"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = CliRunner().invoke(cli, ["api", "keygen", "ops", "--add"], env=env)
    assert again.exit_code != 0 and "a key named 'ops' exists already" in again.output
    wrong = CliRunner().invoke(cli, ["api", "keygen", "x", "--scopes", "admin"], env=env)
    assert wrong.exit_code != 0 and "scopes must be among read, trigger, revoke" in wrong.output
