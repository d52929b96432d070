"""The operator's path: `dagster asset materialize` for a rates partition, then repricing, with the
environment contract (DATABASE_URL, DATA_DIR, DAGSTER_HOME) and the bundled CBR snapshot as the demo sets it."""

import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from appdb.engine import build_engine
from appdb.tables import currency_rate
from resources.rates import BUNDLED_SNAPSHOT
from tests.commerce.helpers import PARTITION, add_products, prices

ROOT = Path(__file__).resolve().parents[2]
DAGSTER = str(Path(sys.executable).parent / "dagster")


@pytest.mark.slow
def test_materialize_rates_partition_then_reprice_from_the_cli(tmp_path, sqlite_url):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("RATES_", "STORE_", "DATABASE_", "REPRICE_"))},
        "DATABASE_URL": sqlite_url,
        "DATA_DIR": str(tmp_path / "data"),
        "DAGSTER_HOME": str(home),
        # The demo's settings: the bundled snapshot, whose fixed date repricing accepts only with -1.
        "RATES_URL": BUNDLED_SNAPSHOT.as_uri(),
        "RATES_MAX_AGE_DAYS": "-1",
    }
    engine = build_engine(sqlite_url)
    usd, vnd = add_products(engine, (10, "USD"), (30000, "VND", "400", "RUB"))

    def materialize(*args: str) -> None:
        command = [DAGSTER, "asset", "materialize", "-m", "orchestration.definitions", *args]
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
        assert result.returncode == 0, (args, result.stdout[-3000:], result.stderr[-3000:])

    materialize("--select", "currency_rates", "--partition", PARTITION)
    with engine.connect() as conn:
        rows = dict(
            conn.execute(
                select(currency_rate.c.currency, currency_rate.c.rate).where(currency_rate.c.partition_key == PARTITION)
            ).all()
        )
    assert rows["RUB"] == Decimal(1) and rows["USD"] == Decimal("80.5639")  # the bundled snapshot
    assert {"EUR", "CNY", "JPY", "KZT"} <= set(rows)

    materialize("--select", "repriced_products")
    got = prices(engine)
    assert got[usd][:2] == (Decimal("805.64"), "RUB")
    assert got[vnd][:2] == (Decimal("400"), "RUB")  # no VND rate in the snapshot: the price is kept
    engine.dispose()
