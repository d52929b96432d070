"""`reprice_products_job` as the schedule launches it: the blocking rate-set check runs first and a stale
or incomplete rate set stops the run before any price moves; `repriced_products` alone refuses too."""

from datetime import timedelta
from decimal import Decimal

import dagster as dg
import pytest

from assets.commerce import checks
from assets.commerce.repriced_products import repriced_products
from orchestration.definitions import build_definitions
from orchestration.settings import Settings
from resources.commerce import CommerceSettings
from resources.database import DatabaseResource
from tests.commerce.helpers import PARTITION, add_products, cbr_rates, prices, store_rates

CHECK_STEP = f"currency_rates_{checks.RATE_SET_USABLE}"


@pytest.fixture
def defs(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)  # a secret: resolved from the environment when the run starts
    return build_definitions(Settings({"DATA_DIR": str(tmp_path), "DATABASE_URL": db_url}))


def run_job(defs, instance):
    return defs.resolve_job_def("reprice_products_job").execute_in_process(instance=instance, raise_on_error=False)


def steps(result, event_type: str) -> list[str]:
    return [e.step_key for e in result.all_events if e.event_type_value == event_type]


def rate_check(result):
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == checks.RATE_SET_USABLE]
    return evaluation


def catalog(engine) -> list[int]:
    return add_products(engine, (10, "USD", "700", "RUB"), (1000, "JPY"), (5, "GBP", "600", "RUB"))


@pytest.mark.parametrize(
    ("rates", "age", "problem"),
    [
        (cbr_rates(), timedelta(hours=30), f"rate set {PARTITION} was fetched 30.0 h ago (limit 26 h)"),
        (cbr_rates(without=("KZT",)), timedelta(minutes=5), f"rate set {PARTITION} lacks KZT"),
    ],
    ids=["stale", "incomplete"],
)
def test_unusable_rate_set_stops_the_job_before_any_price_changes(defs, engine, instance, rates, age, problem):
    store_rates(engine, rates, age=age)
    catalog(engine)
    before = prices(engine)

    result = run_job(defs, instance)
    assert not result.success
    assert prices(engine) == before  # updated_at included: not one row written
    evaluation = rate_check(result)
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["problems"].value == problem
    # The asset step depends on the blocking check's output: Dagster never starts it.
    assert steps(result, "STEP_START") == steps(result, "STEP_FAILURE") == [CHECK_STEP]
    assert not result.get_asset_materialization_events()


def test_job_runs_the_check_first_then_reprices(defs, engine, instance):
    store_rates(engine, cbr_rates())
    usd, jpy, gbp = catalog(engine)

    result = run_job(defs, instance)
    assert result.success
    assert steps(result, "STEP_START") == [CHECK_STEP, "repriced_products"]
    assert rate_check(result).passed
    got = prices(engine)
    assert (got[usd][0], got[jpy][0], got[gbp][0]) == (Decimal("805.64"), Decimal("534.12"), Decimal("600"))

    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "repriced_products"]
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert (meta["rate_partition"], meta["store_currency"]) == (PARTITION, "RUB")
    assert (meta["rows_changed"], meta["rows_unchanged"], meta["rows_skipped"]) == (2, 0, 1)
    assert meta["skipped_by_reason"] == f"- **no_rate_for_currency**: 1 (e.g. {gbp} (GBP))"
    assert meta["duration_seconds"] >= 0 and meta["statements"] == 1
    converted = [e for e in result.get_asset_check_evaluations() if e.check_name == checks.PRICES_CONVERTED]
    assert converted[0].passed

    again = run_job(defs, instance)
    (event,) = [e for e in again.get_asset_materialization_events() if e.asset_key.to_user_string() == "repriced_products"]
    assert event.materialization.metadata["rows_changed"].value == 0
    assert prices(engine) == got


@pytest.mark.parametrize(
    ("age", "problem"),
    [
        (timedelta(hours=30), f"refusing to reprice: rate set {PARTITION} was fetched 30.0 h ago (limit 26 h)"),
        (None, "refusing to reprice: no rate set has been stored yet: materialize currency_rates first"),
    ],
    ids=["stale", "none-stored"],
)
def test_repriced_products_alone_refuses_an_unusable_rate_set(db_url, engine, instance, age, problem):
    if age is not None:
        store_rates(engine, cbr_rates(), age=age)
    catalog(engine)
    before = prices(engine)
    result = dg.materialize(
        [repriced_products],
        instance=instance,
        raise_on_error=False,
        resources={"database": DatabaseResource(url=db_url), "commerce": CommerceSettings()},
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_failure_data.user_failure_data.description == problem
    assert prices(engine) == before
