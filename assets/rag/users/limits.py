"""Daily limits: reset every user's daily usage once per day (00:00 in RAG_TIMEZONE).

The ledger `rag_limit_reset` has one row per day reset, written in the transaction that resets: a
day is never reset twice (a second launch, a re-executed run, a caught-up tick all find its row),
and a day older than the newest one reset is skipped (a late catch-up never wipes today's usage).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select, update

from assets.rag.users.sqlutil import insert_for, utcnow
from assets.rag.users.tables import rag_limit_reset, rag_user


def local_day(moment: datetime, timezone: str) -> date:
    """The calendar day of `moment` in `timezone` (the day whose 00:00 reset is due)."""
    return moment.astimezone(ZoneInfo(timezone)).date()


@dataclass(frozen=True)
class ResetResult:
    day: date
    done: bool
    users_reset: int = 0
    reason: str = ""


def reset_daily_limits(engine: Engine, day: date, run_id: str = "", dry_run: bool = False) -> ResetResult:
    with engine.begin() as conn:
        newest = conn.execute(select(func.max(rag_limit_reset.c.day))).scalar_one()
        if isinstance(newest, str):
            newest = date.fromisoformat(newest)
        if newest is not None and day < newest:
            return ResetResult(day, False, reason=f"skipped: {newest} was already reset (a later day)")
        if dry_run:
            if newest == day:
                return ResetResult(day, False, reason=f"skipped: {day} was already reset")
            users = conn.execute(select(func.count()).select_from(rag_user)).scalar_one()
            return ResetResult(day, False, users, reason="dry run: would reset")
        now = utcnow()
        claimed = conn.execute(
            insert_for(engine, rag_limit_reset).on_conflict_do_nothing(index_elements=["day"]),
            {"day": day, "reset_at": now, "users_reset": 0, "run_id": run_id},
        ).rowcount
        if claimed != 1:
            return ResetResult(day, False, reason=f"skipped: {day} was already reset")
        users = conn.execute(update(rag_user).values(daily_used=0, limits_reset_at=now)).rowcount
        conn.execute(update(rag_limit_reset).where(rag_limit_reset.c.day == day).values(users_reset=users))
    return ResetResult(day, True, users, reason="reset")
