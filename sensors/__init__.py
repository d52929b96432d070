"""Sensors: source changes and run outcomes that start work (see sensors/README.md)."""

import dagster as dg

from sensors.health_alerts import build_health_alerts_sensor  # issue 17
from sensors.new_posts import build_new_posts_sensor
from sensors.product_changes import build_product_changes_job, build_product_changes_sensor
from sensors.run_alerts import build_run_alerts_sensor


def build_defs(settings) -> dg.Definitions:
    return dg.Definitions(
        jobs=[build_product_changes_job(settings.get("DAGSTER_EXECUTOR").strip().lower())],
        sensors=[build_product_changes_sensor(settings), build_new_posts_sensor(settings), build_run_alerts_sensor()]
        + [build_health_alerts_sensor()],  # issue 17: failed checks, freshness FAIL
    )
