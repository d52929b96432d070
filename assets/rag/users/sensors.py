"""`notifications_sensor`: launches deliver_notifications_job when the outbox has due rows or users wait
for their statistics, one run at a time."""

import dagster as dg
from sqlalchemy import func, select

from assets.rag.users.delivery import count_due
from assets.rag.users.jobs import DELIVER_JOB
from assets.rag.users.tables import rag_stats_pending
from resources.database import DatabaseResource
from resources.users_api import UsersApiResource

SENSOR_NAME = "notifications_sensor"
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING,
]
# The sensor's runs skip the reconcile (the trigger queues every row) and linger 20 s for more rows.
SENSOR_RUN_CONFIG = {"ops": {"notification_outbox": {"config": {"reconcile": False, "linger_seconds": 20.0}}}}


@dg.sensor(
    name=SENSOR_NAME,
    job_name=DELIVER_JOB,
    # The daemon looks at sensors every 5 s; 4 s lets every look evaluate (see sensors/README.md).
    minimum_interval_seconds=4,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Due outbox rows (new query results, usage statistics, system notifications, retries whose backoff "
    "ran out) or queued statistics -> one deliver_notifications_job run, unless one is already queued or running.",
)
def notifications_sensor(context: dg.SensorEvaluationContext, rag_database: DatabaseResource, users_api: UsersApiResource):
    in_flight = context.instance.get_run_records(
        filters=dg.RunsFilter(job_name=DELIVER_JOB, statuses=IN_FLIGHT), limit=1
    )
    if in_flight:
        return dg.SkipReason(f"run {in_flight[0].dagster_run.run_id[:8]} of {DELIVER_JOB} is in flight")
    due = count_due(rag_database.engine) if users_api.enabled else 0
    with rag_database.connect() as conn:
        queued_stats = conn.execute(select(func.count()).select_from(rag_stats_pending)).scalar_one()
    if not due and not queued_stats:
        return dg.SkipReason("nothing due" + ("" if users_api.enabled else " (USERS_URL unset: only statistics are watched)"))
    return dg.RunRequest(run_config=SENSOR_RUN_CONFIG, tags={"rag/due": str(due), "rag/queued_stats": str(queued_stats)})
