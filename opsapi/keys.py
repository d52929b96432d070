"""API keys: `OPS_API_KEYS_FILE` holds `{"keys": [{"name", "sha256", "scopes"}]}`, never a key itself.

A request's `X-API-Key` is hashed and compared with every entry in constant time (hmac.compare_digest,
no early exit), so timing tells nothing about which entry or how much of it matched.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

SCOPES = ("read", "trigger", "revoke")
KEY_PREFIX = "ops_"


@dataclass(frozen=True)
class ApiKey:
    name: str
    sha256: str
    scopes: frozenset[str]


class KeyFileError(ValueError):
    """The key file is missing, not JSON, or an entry is malformed (the message says which)."""


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key(name: str, scopes: list[str]) -> tuple[str, dict]:
    """A fresh random key and its file entry (the key is shown once; only its hash is stored)."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(f"scopes must be among {', '.join(SCOPES)}; got {', '.join(scopes) or 'none'}")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, {"name": name, "sha256": hash_key(key), "scopes": sorted(set(scopes))}


def parse_keys(data: object, where: str) -> list[ApiKey]:
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise KeyFileError(f'{where}: expected {{"keys": [...]}}')
    keys, names = [], set()
    for i, entry in enumerate(data["keys"]):
        try:
            name, digest, scopes = entry["name"], entry["sha256"].lower(), entry["scopes"]
        except (TypeError, KeyError, AttributeError):
            raise KeyFileError(f"{where}: keys[{i}] needs name, sha256 and scopes") from None
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise KeyFileError(f"{where}: keys[{i}] ({name}): sha256 is not 64 hex digits")
        if not isinstance(scopes, list) or set(scopes) - set(SCOPES):
            raise KeyFileError(f"{where}: keys[{i}] ({name}): scopes must be a list among {', '.join(SCOPES)}")
        if name in names:
            raise KeyFileError(f"{where}: key name {name!r} appears twice")
        names.add(name)
        keys.append(ApiKey(name, digest, frozenset(scopes)))
    return keys


def load_keys(path: str) -> list[ApiKey]:
    """The key entries of `path`; no path or no file means no keys (every protected endpoint answers
    401, and `make dev` still starts); a file that is there but malformed is refused."""
    if not path or not Path(path).exists():
        return []
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise KeyFileError(f"OPS_API_KEYS_FILE={path}: not JSON ({exc})") from None
    return parse_keys(data, f"OPS_API_KEYS_FILE={path}")


def find_key(keys: list[ApiKey], presented: str) -> ApiKey | None:
    digest = hash_key(presented).encode()
    found = None
    for key in keys:  # every entry is compared: no early exit
        if hmac.compare_digest(digest, key.sha256.encode()):
            found = key
    return found


def add_entry(path: str, entry: dict) -> None:
    """Append `entry` to the key file (created 0600 when missing); refuses a duplicate name."""
    file = Path(path)
    data = json.loads(file.read_text()) if file.exists() else {"keys": []}
    parse_keys(data, path)
    if any(k["name"] == entry["name"] for k in data["keys"]):
        raise KeyFileError(f"{path}: a key named {entry['name']!r} exists already")
    data["keys"].append(entry)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.touch(mode=0o600, exist_ok=True)
    file.write_text(json.dumps(data, indent=2) + "\n")
