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
from tests.commerce.helpers import PARTITION, add_products, cbr_rates, moscow_today, prices, store_rates

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


def _stale_problem() -> str:
    today = moscow_today()
    return f"rate set {PARTITION} is dated {today - timedelta(days=5)}, 5 days before {today} (limit 4 days)"


@pytest.mark.parametrize(
    ("rates", "problem"),
    [
        # A frozen feed: fetched five minutes ago, but the document is five days old.
        (lambda: cbr_rates(day=moscow_today() - timedelta(days=5)), _stale_problem),
        (lambda: cbr_rates(without=("KZT",)), lambda: f"no complete rate set stored: the newest, {PARTITION}, lacks KZT"),
    ],
    ids=["frozen-feed", "incomplete"],
)
def test_unusable_rate_set_stops_the_job_before_any_price_changes(defs, engine, instance, rates, problem):
    store_rates(engine, rates(), age=timedelta(minutes=5))
    catalog(engine)
    before = prices(engine)

    result = run_job(defs, instance)
    assert not result.success
    assert prices(engine) == before  # updated_at included: not one row written
    evaluation = rate_check(result)
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["problems"].value == problem()
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
    ("days_old", "problem"),
    [
        (5, lambda: "refusing to reprice: " + _stale_problem()),
        (None, lambda: "refusing to reprice: no rate set has been stored yet: materialize currency_rates first"),
    ],
    ids=["stale", "none-stored"],
)
def test_repriced_products_alone_refuses_an_unusable_rate_set(db_url, engine, instance, days_old, problem):
    if days_old is not None:
        store_rates(engine, cbr_rates(day=moscow_today() - timedelta(days=days_old)))
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
    assert failure.step_failure_data.user_failure_data.description == problem()
    assert prices(engine) == before


def test_weekend_carry_over_within_the_limit_still_reprices(defs, engine, instance):
    """CBR's Saturday set is in force until Tuesday: a set three days old is usable with the default 4."""
    store_rates(engine, cbr_rates(day=moscow_today() - timedelta(days=3)))
    (usd, *_) = catalog(engine)
    assert run_job(defs, instance).success
    assert prices(engine)[usd][:2] == (Decimal("805.64"), "RUB")


def test_newer_incomplete_set_is_skipped_repricing_uses_the_newest_complete_one(defs, engine, instance):
    store_rates(engine, cbr_rates(USD=(1, "71,0000")), partition="2026-03-05-00:00")
    store_rates(engine, cbr_rates(without=("KZT",)), partition=PARTITION)  # newer, stored for inspection
    (usd, *_) = catalog(engine)

    result = run_job(defs, instance)
    assert result.success
    assert rate_check(result).metadata["partition"].value == "2026-03-05-00:00"
    assert rate_check(result).metadata["newest_stored"].value == PARTITION
    assert prices(engine)[usd][:2] == (Decimal("710.00"), "RUB")  # 10 USD x 71, the complete set
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "repriced_products"]
    meta = event.materialization.metadata
    assert meta["rate_partition"].value == "2026-03-05-00:00"
    assert meta["newer_incomplete_set_skipped"].value == PARTITION
