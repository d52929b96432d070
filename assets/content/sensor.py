"""`chat_messages_sensor`: new and edited chat messages reach their topics in micro-batches.

The capture triggers (sql/chat_message_change.*.sql) log every insert and text edit in
`chat_message_change`; `ChangeLogSource` reads the log (late-commit-safe on PostgreSQL) and the shared
debounce (sensors/debounce.py) turns a burst into one chat_messages_job run after a short quiet period
(CONTENT_QUIET_SECONDS), at the latest after CONTENT_MAX_WAIT_SECONDS, one run in flight at a time;
messages arriving meanwhile go into the next run. Never one run per message.

The quiet period is measured on the messages' own capture times, not on tick times: the daemon looks
at sensors every 5 s, and the debounce's own quiet period (changes first *seen* by a tick) always
costs a second look, 5 s more than a chat topic can wait. So the source holds the newest changes back
while the youngest of them is younger than the quiet period (by the database clock), and the
debounce runs with a zero quiet period: a tick that finds messages already quiet launches at once.

Leading edge (CONTENT_LEADING_EDGE, default on): messages that follow a quiet log (no change captured
in the quiet period before the first of them) are delivered at once, so a lone message is classified
on the first tick that sees it; what arrives after them is held for quiet as above, and the one run in
flight makes a burst fold into the next run.
"""

from __future__ import annotations

import time
from typing import Callable

from datetime import datetime, timezone

import dagster as dg
from sqlalchemy import Engine, func, select

from assets.content.schedules import CHAT_MESSAGES_JOB
from assets.content.store import as_utc
from assets.content.tables import chat_message_change
from sensors.debounce import ChangeBatch, DebouncePolicy
from sensors.debounced_sensor import build_debounced_sensor
from sensors.change_log import ChangeLogSource

SENSOR_NAME = "chat_messages_sensor"
GROUP = "all"  # not partitioned: every message goes to the one job
MAX_IDS_PER_RUN = 5000  # above this the run takes every message without a topic (its default anyway)


class QuietChatMessageSource(ChangeLogSource):
    """`chat_message_change` as a ChangeSource that delivers the newest changes only once the log has
    been quiet for `quiet_s` (or its oldest undelivered change waited `max_wait_s`)."""

    def __init__(
        self, engine: Engine, retention_s: float, quiet_s: float, max_wait_s: float, clock: Callable[[], float] = time.time,
        leading_edge: bool = True,
    ):
        self._captured: dict[int, datetime] = {}
        super().__init__(engine, chat_message_change, self._to_change, retention_s, clock)
        self.engine = engine
        self.quiet_s, self.max_wait_s, self._clock, self.leading_edge = quiet_s, max_wait_s, clock, leading_edge

    def _to_change(self, row) -> tuple[str, int]:
        self._captured[int(row.seq)] = row.changed_at
        return GROUP, int(row.message_id)

    def read(self, position: dict | None, limit: int) -> ChangeBatch:
        self._captured.clear()
        batch = super().read(position, limit)
        if batch.more or not batch.changes or self.quiet_s <= 0:
            return batch
        # The sensor's clock against the capture times: the database's clock must agree (NTP); a skew
        # only moves launches within the max wait.
        now = datetime.fromtimestamp(self._clock(), tz=timezone.utc)
        ages = [(now - as_utc(at)).total_seconds() for at in self._captured.values()]
        if min(ages) >= self.quiet_s or max(ages) >= self.max_wait_s or self._after_quiet():
            return batch
        return ChangeBatch(changes=[], position=position, more=False)

    def _after_quiet(self) -> bool:
        """Leading edge: nothing was captured in the quiet period before the first change read."""
        if not self.leading_edge:
            return False
        first = min(self._captured)
        c = chat_message_change.c
        with self.engine.connect() as conn:
            before = conn.execute(select(func.max(c.changed_at)).where(c.seq < first)).scalar()
        return before is None or (as_utc(self._captured[first]) - as_utc(before)).total_seconds() >= self.quiet_s


def run_config(message_ids: list | None) -> dict:
    if message_ids is None:
        return {}
    return {"ops": {"message_topics": {"config": {"message_ids": message_ids}}}}


def build_chat_messages_sensor(settings, clock: Callable[[], float] = time.time) -> dg.SensorDefinition:
    retention_s = settings.get_float("CONTENT_CHANGES_RETENTION_HOURS") * 3600
    quiet_s = settings.get_float("CONTENT_QUIET_SECONDS")
    max_wait_s = settings.get_float("CONTENT_MAX_WAIT_SECONDS")
    leading_edge = settings.get_bool("CONTENT_LEADING_EDGE")
    # The quiet period is the source's (on capture times); the debounce launches what it is given.
    policy = DebouncePolicy(quiet_s=0.0, max_wait_s=max_wait_s, max_items=MAX_IDS_PER_RUN)

    def source(resources) -> QuietChatMessageSource:
        return QuietChatMessageSource(resources.content_database.engine, retention_s, quiet_s, max_wait_s, clock, leading_edge)

    return build_debounced_sensor(
        name=SENSOR_NAME,
        job_name=CHAT_MESSAGES_JOB,
        source=source,
        run_config=run_config,
        policy=policy,
        required_resource_keys={"content_database"},
        partitioned=False,
        clock=clock,
        description=(
            f"New and edited chat messages (chat_message_change, fed by triggers) → chat_messages_job (message_topics, "
            f"user_recommendations) once no message arrived for {quiet_s:g} s (by capture time), at the latest {max_wait_s:g} s "
            f"after the first{' (messages after a quiet log: at once)' if leading_edge else ''}; one run in flight, later messages go into the next run. Replaces seed 003's per-message "
            "extract_topic_from_message / update_user_recommendations tasks."
        ),
    )
