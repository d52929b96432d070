"""`currency_rates` materialized with real resources on SQLite and PostgreSQL: rows, atomic replacement
of a partition, bad payloads that keep the stored rows, and the asset's checks."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import dagster as dg
from assets.commerce import checks
from assets.commerce.currency_rates import currency_rates
from orchestration.definitions import build_definitions
from orchestration.partitions import RATES_PARTITIONS
from orchestration.settings import Settings
from resources.commerce import CommerceSettings
from resources.database import DatabaseResource
from resources.rates import RatesResource
from tests.commerce.helpers import PARTITION, stored_rates
from tests.support.http import Reply
from tests.support.rates import CBR_RATES, HTML_ERROR_PAGE, cbr_xml, ecb_xml

XML = "application/xml; charset=windows-1251"


def materialize(db_url, rates_url, partition=PARTITION, instance=None, provider="cbr", **commerce):
    return dg.materialize(
        [currency_rates],
        partition_key=partition,
        instance=instance,
        raise_on_error=False,
        resources={
            "database": DatabaseResource(url=db_url),
            "rates": RatesResource(provider=provider, url=rates_url, attempts=2, max_backoff_s=0.01, read_timeout_s=2),
            "commerce": CommerceSettings(**commerce),
        },
    )


def metadata(result) -> dict:
    (event,) = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def check_results(result) -> dict:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def failure_of(result):
    (event,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return event.step_failure_data.user_failure_data


def write(tmp_path, payload: bytes, name: str = "cbr.xml") -> str:
    path = tmp_path / name
    path.write_bytes(payload)
    return path.as_uri()


def test_rows_base_row_partition_provider_and_metadata(db_url, engine, tmp_path, instance):
    started = datetime.now(timezone.utc)
    result = materialize(db_url, write(tmp_path, cbr_xml()), instance=instance)
    assert result.success

    rows = stored_rates(engine)
    assert [r[0] for r in rows] == sorted([*CBR_RATES, "RUB"])
    by_code = {r[0]: r for r in rows}
    assert by_code["RUB"][2] == Decimal(1)  # the base row
    assert by_code["USD"][2] == Decimal("80.5639")
    assert by_code["JPY"][2] == Decimal("0.534117")
    assert {(r[1], r[3], r[4], r[5]) for r in rows} == {("RUB", date(2026, 3, 5), PARTITION, "cbr")}

    meta = metadata(result)
    assert meta["dagster/row_count"] == len(CBR_RATES) + 1
    assert meta["provider"] == "cbr" and meta["base_currency"] == "RUB" and meta["rate_date"] == "2026-03-05"
    assert meta["previous_partition"] == "none"
    assert meta["feed"] == "file snapshot: the same document every run, not live rates"
    assert meta["requested_date"] == "2026-03-05"
    assert 0 <= meta["fetch_seconds"] <= meta["duration_seconds"] < (datetime.now(timezone.utc) - started).total_seconds()
    assert instance.get_latest_materialization_event(currency_rates.key).asset_materialization.partition == PARTITION
    assert all(e.passed for e in check_results(result).values())


def test_rematerializing_replaces_the_partition(db_url, engine, http_server, instance):
    url = http_server.route(
        "/scripts/XML_daily.asp",
        Reply(200, cbr_xml(), XML),
        Reply(200, cbr_xml({**CBR_RATES, "USD": (1, "81,0000"), "EUR": (1, "93,5000")}), XML),
    )
    assert materialize(db_url, url, partition="2026-03-05-00:00", instance=instance).success
    assert materialize(db_url, url, instance=instance).success
    before = stored_rates(engine)
    other_partition = stored_rates(engine, "2026-03-05-00:00")

    again = materialize(db_url, url, instance=instance)
    assert again.success and metadata(again)["dagster/row_count"] == len(before)
    after = stored_rates(engine)
    assert len(after) == len(before)  # replaced, never appended
    assert {r[0]: r[2] for r in after}["USD"] == Decimal("81")
    assert {r[0]: r[2] for r in after}["EUR"] == Decimal("93.5")
    assert {r[0]: r[2] for r in after}["JPY"] == Decimal("0.534117")
    assert stored_rates(engine, "2026-03-05-00:00") == other_partition
    # The partition's date went to CBR on every request.
    assert {path for _, path, _, _ in http_server.requests} == {"/scripts/XML_daily.asp?date_req=05/03/2026"}


def test_bad_payloads_fail_naming_provider_url_problem_and_keep_stored_rows(db_url, engine, http_server, instance):
    url = http_server.route(
        "/scripts/XML_daily.asp",
        Reply(200, cbr_xml(), XML),
        Reply(200, HTML_ERROR_PAGE, "text/html"),
        Reply(200, cbr_xml()[:250], XML),
    )
    assert materialize(db_url, url, instance=instance).success
    good = stored_rates(engine)
    dated_url = f"{url}?date_req=05/03/2026"

    for problem in ("got an HTML page instead of XML", "malformed or truncated XML"):
        result = materialize(db_url, url, instance=instance)
        assert not result.success
        failure = failure_of(result)
        assert failure.description.startswith(f"cbr rates from {dated_url}: {problem}"), failure.description
        assert failure.metadata["provider"].value == "cbr" and failure.metadata["url"].value == dated_url
        assert stored_rates(engine) == good
    assert http_server.hits("/scripts/XML_daily.asp") == 3  # a bad payload is not retried


def test_bad_payload_is_not_retried_by_the_job(db_url, engine, tmp_path, instance, monkeypatch):
    """The job's step retry policy covers transport trouble only: a malformed feed fails the run at once."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    env = {"DATA_DIR": str(tmp_path), "DATABASE_URL": db_url, "RATES_URL": write(tmp_path, HTML_ERROR_PAGE)}
    job = build_definitions(Settings(env)).resolve_job_def("currency_rates_job")
    result = job.execute_in_process(partition_key=PARTITION, instance=instance, raise_on_error=False)
    assert not result.success
    types = [e.event_type_value for e in result.all_events]
    assert "STEP_UP_FOR_RETRY" not in types and types.count("STEP_FAILURE") == 1
    assert "got an HTML page instead of XML" in failure_of(result).description
    assert stored_rates(engine) == []


def test_missing_required_or_store_currency_fails_the_run_and_keeps_the_set_for_inspection(db_url, engine, tmp_path, instance):
    result = materialize(
        db_url, write(tmp_path, cbr_xml()), instance=instance, required_currencies=["USD", "GBP"], store_currency="CHF"
    )
    assert not result.success  # red, naming what is missing...
    complete = check_results(result)[checks.RATES_COMPLETE]
    assert not complete.passed and complete.severity == dg.AssetCheckSeverity.ERROR
    assert complete.metadata["missing"].value == "CHF, GBP"
    assert complete.description == f"rate set {PARTITION} lacks CHF, GBP"
    # ...and the rows are stored (and materialized) for the operator to see.
    assert len(stored_rates(engine)) == len(CBR_RATES) + 1
    assert metadata(result)["dagster/row_count"] == len(CBR_RATES) + 1
    assert set(check_results(result)) == {checks.RATES_COMPLETE, checks.RATES_MOVES_PLAUSIBLE}


def test_large_move_since_previous_partition_warns(db_url, tmp_path, instance):
    assert materialize(db_url, write(tmp_path, cbr_xml(), "a.xml"), partition="2026-03-05-00:00", instance=instance).success
    moved = cbr_xml({**CBR_RATES, "USD": (1, "97,0000"), "EUR": (1, "100,0000")})  # USD +20.4%, EUR +7.7%
    result = materialize(db_url, write(tmp_path, moved, "b.xml"), instance=instance)
    assert result.success  # a WARN does not fail the run
    plausible = check_results(result)[checks.RATES_MOVES_PLAUSIBLE]
    assert not plausible.passed and plausible.severity == dg.AssetCheckSeverity.WARN
    assert plausible.metadata["moves_beyond_limit"].value == "{'USD': 0.204}"  # EUR's 7.7% is within the limit
    assert plausible.metadata["compared_with"].value == "2026-03-05-00:00"
    assert metadata(result)["previous_partition"] == "2026-03-05-00:00"
    assert check_results(result)[checks.RATES_COMPLETE].passed


def test_ecb_provider_end_to_end(db_url, engine, tmp_path, instance):
    history = ecb_xml({date(2026, 3, 4): {"USD": "1.08", "RUB": "93.1"}, date(2026, 3, 6): {"USD": "1.09", "RUB": "92"}})
    result = materialize(db_url, write(tmp_path, history, "ecb.xml"), instance=instance, provider="ecb",
                         required_currencies=["USD"])
    assert result.success
    rows = {r[0]: r for r in stored_rates(engine)}
    assert set(rows) == {"EUR", "USD", "RUB"}
    assert rows["EUR"][2] == Decimal(1) and rows["USD"][1] == "EUR"
    assert rows["USD"][3] == date(2026, 3, 4)  # the newest day on or before the partition's date
    assert rows["USD"][2] == (Decimal(1) / Decimal("1.08")).quantize(Decimal("1e-10"))


def test_cbr_is_asked_for_the_moscow_date_of_the_window(db_url, http_server, instance):
    """The window 20:00-24:00 UTC closes at 03:00 in Moscow: the rate in force is the next day's."""
    url = http_server.route("/scripts/XML_daily.asp", Reply(200, cbr_xml(day=date(2026, 3, 5)), XML))
    result = materialize(db_url, url, partition="2026-03-04-20:00", instance=instance)
    assert result.success
    assert [path for _, path, _, _ in http_server.requests] == ["/scripts/XML_daily.asp?date_req=05/03/2026"]
    assert metadata(result)["requested_date"] == "2026-03-05" and metadata(result)["feed"] == "live"


def test_live_window_takes_the_newest_published_set(db_url, engine, http_server, instance):
    """CBR publishes tomorrow's rates the afternoon before: the live window asks without a date."""
    live = RATES_PARTITIONS.get_last_partition_key()
    tomorrow = datetime.now(timezone.utc).date() + timedelta(days=1)
    url = http_server.route("/scripts/XML_daily.asp", Reply(200, cbr_xml(day=tomorrow), XML))
    result = materialize(db_url, url, partition=live, instance=instance)
    assert result.success
    assert [path for _, path, _, _ in http_server.requests] == ["/scripts/XML_daily.asp"]
    assert metadata(result)["requested_date"] == "newest published (live window)"
    assert {r[3] for r in stored_rates(engine, live)} == {tomorrow}


def test_ecb_uses_its_own_calendar(db_url, engine, tmp_path, instance):
    """At 05:00 CET on 5 March ECB has not published the 5th's rates yet (16:00 CET): the 4th's are in force."""
    history = ecb_xml({date(2026, 3, 4): {"USD": "1.08", "RUB": "93.1"}, date(2026, 3, 5): {"USD": "1.09", "RUB": "92"}})
    result = materialize(db_url, write(tmp_path, history, "ecb.xml"), partition="2026-03-05-00:00", instance=instance,
                         provider="ecb", required_currencies=["USD"])
    assert result.success
    assert {r[3] for r in stored_rates(engine, "2026-03-05-00:00")} == {date(2026, 3, 4)}
    later = materialize(db_url, write(tmp_path, history, "ecb.xml"), partition="2026-03-05-16:00", instance=instance,
                        provider="ecb", required_currencies=["USD"])
    assert later.success and {r[3] for r in stored_rates(engine, "2026-03-05-16:00")} == {date(2026, 3, 5)}


def test_unset_rates_url_means_the_providers_public_url():
    """Production never reprices from the bundled snapshot: only the demo and tests set RATES_URL=file://."""
    for provider, public in [("cbr", "https://www.cbr.ru/scripts/XML_daily.asp"),
                             ("ecb", "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist-90d.xml")]:
        defs = build_definitions(Settings({"DATA_DIR": "/nonexistent/never-created", "RATES_PROVIDER": provider}))
        rates = defs.resources["rates"]
        assert not rates.is_snapshot
        assert rates.source_url(None) == public


def test_a_bug_in_the_provider_code_is_not_retried_and_named_as_itself(db_url, engine, tmp_path, instance, monkeypatch):
    """Only transport errors get the job's step retries; a bug is not relabelled a transport error."""
    import dataclasses

    from resources.rates.providers import PROVIDERS

    def broken(payload, url, as_of):
        raise KeyError("Valute")

    monkeypatch.setitem(PROVIDERS, "cbr", dataclasses.replace(PROVIDERS["cbr"], parse=broken))
    monkeypatch.setenv("DATABASE_URL", db_url)
    env = {"DATA_DIR": str(tmp_path), "DATABASE_URL": db_url, "RATES_URL": write(tmp_path, cbr_xml())}
    job = build_definitions(Settings(env)).resolve_job_def("currency_rates_job")
    result = job.execute_in_process(partition_key=PARTITION, instance=instance, raise_on_error=False)
    types = [e.event_type_value for e in result.all_events]
    assert not result.success and "STEP_UP_FOR_RETRY" not in types and types.count("STEP_FAILURE") == 1
    description = failure_of(result).description
    assert description == "unexpected error reading cbr rates (not a transport error, not retried): KeyError: 'Valute'"
    assert stored_rates(engine) == []
