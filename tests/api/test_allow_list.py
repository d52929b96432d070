"""The API's allow-list against the platform's one code location: every job it may launch exists."""

import pytest

from opsapi.jobs import TRIGGERS
from orchestration.definitions import build_definitions


@pytest.fixture(scope="module")
def job_names() -> set[str]:
    return {job.name for job in build_definitions().resolve_all_job_defs()}


@pytest.mark.parametrize("trigger", sorted(TRIGGERS))
def test_every_allow_listed_job_is_in_the_code_location(trigger, job_names):
    assert TRIGGERS[trigger] in job_names, f"{trigger} -> {TRIGGERS[trigger]} is not a job of orchestration.definitions"
