"""What a transaction can see of a change log (appdb.base.change_log_table): the facts that make reading
the log, and judging which changes a run has already seen, exact rather than timed.

- `snapshot(conn)`: what the reading transaction cannot see yet. PostgreSQL hands out `seq` when a row
  is written, not when its transaction commits, so the log reader (sensors/change_log.py) keeps the
  transactions its snapshot could not see and reads their rows once they commit.
- `change_log_point(engine, table)`: taken by a run before it reads the application's tables and kept in
  its materialization's metadata (`CHANGE_LOG_POINT`): every change committed at that point is one the
  run saw.
- `summarize` / `covered`: a pending set of changes folded into a few numbers, and whether a run that
  recorded a point saw all of them. PostgreSQL judges by transaction ids (a transaction that finished
  before the point's snapshot was visible to it), SQLite by seq (one writer at a time: rows commit in
  seq order). No clocks: a transaction that runs for minutes is judged right.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, Table, func, select, text

CHANGE_LOG_POINT = "change_log_point"  # the metadata key of a run's point
MAX_SUMMARY_TXIDS = 64  # more distinct transactions pending: judged by the newest one alone


@dataclass(frozen=True)
class Snapshot:
    """What a reading transaction cannot see: `running`, the transactions it lists as in progress,
    and every transaction id at or above `xmax` (None: no such bound); `xmin`: every id below it had
    finished."""

    running: frozenset[int] = field(default_factory=frozenset)
    xmax: int | None = None
    xmin: int | None = None


class _SerialWriter:
    """SQLite: one writer at a time, so rows commit in seq order; nothing is ever in flight."""

    options: dict = {}

    def snapshot(self, conn: Connection) -> Snapshot:
        return Snapshot()


class _PostgresSnapshot:
    """PostgreSQL: `pg_current_snapshot()` of the reading transaction. Its in-progress list leaves out
    running transactions whose id is at or above its xmax (the newest finished id + 1): they count as
    running all the same, so every id >= xmax is not yet visible."""

    # One snapshot for the whole read: the in-progress list and the rows read agree.
    options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}

    def snapshot(self, conn: Connection) -> Snapshot:
        value = conn.exec_driver_sql("SELECT pg_current_snapshot()::text").scalar_one()
        xmin, xmax, xip = value.split(":")  # "xmin:xmax:xip1,xip2,..."
        return Snapshot(running=frozenset(int(x) for x in xip.split(",") if x), xmax=int(xmax), xmin=int(xmin))


SNAPSHOTS = {"sqlite": _SerialWriter(), "postgresql": _PostgresSnapshot()}


def change_log_point(engine: Engine, table: Table) -> dict:
    """The point a run reads from: {"seq": the highest seq committed} on SQLite, {"xmin", "xmax", "xip"}
    of a fresh snapshot on PostgreSQL. Take it before reading anything the log covers."""
    reader = SNAPSHOTS[engine.dialect.name]
    with engine.connect().execution_options(**reader.options) as conn, conn.begin():
        if engine.dialect.name != "sqlite":
            snap = reader.snapshot(conn)
            return {"xmin": snap.xmin, "xmax": snap.xmax, "xip": sorted(snap.running)}
        # AUTOINCREMENT's counter survives pruning; max(seq) is the fallback before the first row.
        handed_out = conn.execute(text("SELECT seq FROM sqlite_sequence WHERE name = :t"), {"t": table.name}).scalar()
        highest = conn.execute(select(func.max(table.c.seq))).scalar()
        return {"seq": int(max(handed_out or 0, highest or 0))}


def summarize(summary: dict | None, seq: int, txid: int | None) -> dict:
    """Fold one change (its seq and transaction id) into a pending set's summary: the highest seq, the
    highest transaction id and up to MAX_SUMMARY_TXIDS distinct ids (None once there are more)."""
    if summary is None:
        return {"seq": seq, "max_tx": txid, "tx": [] if txid is None else [txid]}
    summary["seq"] = max(summary["seq"], seq)
    if txid is not None:
        summary["max_tx"] = txid if summary["max_tx"] is None else max(summary["max_tx"], txid)
        ids = summary["tx"]
        if ids is not None and txid not in ids:
            summary["tx"] = ids + [txid] if len(ids) < MAX_SUMMARY_TXIDS else None
    return summary


def covered(point: dict, summary: dict) -> bool:
    """Whether a run that recorded `point` saw every change of `summary` (committed before the point)."""
    if "seq" in point:  # SQLite
        return summary["seq"] <= point["seq"]
    top = summary.get("max_tx")
    if top is None or top >= point["xmax"]:
        return False
    if top < point["xmin"]:
        return True  # every transaction below xmin had finished
    if summary.get("tx") is None:
        return False  # too many to check against the in-progress list: not judged seen
    running = set(point["xip"])
    return not any(t in running for t in summary["tx"])
