"""Seed 001's counters read metadata keys that the posts assets really emit (a rename breaks this)."""

import re

import pytest

from opsapi.metrics import SEED_COUNTERS
from orchestration.settings import PROJECT_ROOT


@pytest.mark.parametrize("counter", SEED_COUNTERS, ids=lambda c: c.name)
def test_seed_counters_read_keys_of_their_assets_metadata(counter):
    source = (PROJECT_ROOT / "assets" / "posts" / f"{counter.asset}.py").read_text()
    emitted = set(re.findall(r'^\s+"([a-z_]+)": ', source, re.M))
    keys = {key for keys in counter.by_status.values() for key in keys}
    assert keys <= emitted, f"{counter.name}: {sorted(keys - emitted)} not in the metadata of {counter.asset}"
