"""A change-capture log (appdb.base.change_log_table) as a `ChangeSource` for the debounced sensors.

Capture triggers write one row per change with a monotonic `seq` and the writing transaction's id
(`txid`). Reading `seq > cursor` alone loses changes on PostgreSQL, where a seq is handed out when a
row is written, not when its transaction commits; sensors/README.md ("Late commits") explains the
position below and why it misses nothing. Every sensor over a change log (products, posts, chat
messages, assistant documents) reads through `ChangeLogSource`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import Connection, Engine, Table, and_, delete, or_, select

from appdb.change_log import SNAPSHOTS, Snapshot, covered, summarize
from sensors.debounce import Change, ChangeBatch

PRUNE_BATCH = 5000


@dataclass
class Position:
    """Where the log has been read to: every row with seq <= hwm, except the rows of transactions the
    last read could not see: the `inflight` ones (listed in progress) and any with an id >= `xmax`;
    and except the unread ranges of `draining` transactions (finished since; their rows with
    after < seq <= upto are read next)."""

    hwm: int = 0
    inflight: list[int] = field(default_factory=list)
    draining: dict[int, list[int]] = field(default_factory=dict)
    xmax: int | None = None

    @classmethod
    def from_json(cls, data: dict | None) -> "Position":
        data = data or {}
        return cls(
            hwm=int(data.get("hwm", 0)),
            inflight=[int(t) for t in data.get("inflight", [])],
            draining={int(t): [int(a), int(b)] for t, (a, b) in data.get("draining", {}).items()},
            xmax=None if data.get("xmax") is None else int(data["xmax"]),
        )

    def to_json(self) -> dict:
        return {
            "hwm": self.hwm,
            "inflight": sorted(self.inflight),
            "draining": {str(t): r for t, r in sorted(self.draining.items())},
            "xmax": self.xmax,
        }

    def unseen(self, txid: int | None) -> bool:
        """Whether the last read could not see this transaction's rows (it had not committed)."""
        if txid is None:
            return False
        return txid in self.inflight or (self.xmax is not None and txid >= self.xmax)


def _rows(conn: Connection, table: Table, where, limit: int):
    return conn.execute(select(table).where(*where).order_by(table.c.seq).limit(limit)).all()


class ChangeLogSource:
    """A change-log table filled by capture triggers (columns seq, op, changed_at, txid and the entity's),
    as a ChangeSource. `to_change(row)` gives the row's (partition key, item); the mark is (seq, txid)."""

    def __init__(
        self,
        engine: Engine,
        table: Table,
        to_change: Callable[[Any], tuple[str, Any]],
        retention_s: float,
        now: Callable[[], float] = time.time,
    ):
        self._engine = engine
        self._table = table
        self._to_change = to_change
        self._retention_s = retention_s
        self._now = now
        self._snapshots = SNAPSHOTS[engine.dialect.name]

    def _change(self, row) -> Change:
        key, item = self._to_change(row)
        at = row.changed_at
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)  # stored as UTC (SQLite keeps no zone)
        return Change(
            key=key, item=item, op=row.op, mark=(int(row.seq), None if row.txid is None else int(row.txid)),
            at=None if at is None else at.timestamp(),
        )

    def _finished_since(self, conn: Connection, pos: Position, snapshot: Snapshot) -> None:
        """Queue for draining every transaction the last read could not see that has finished now: its
        rows with seq <= hwm were skipped. Those listed in progress are known by id; those at or above
        the last xmax are found by their rows (only committed ones are visible)."""
        for txid in pos.inflight:
            if txid not in snapshot.running:
                pos.draining[txid] = [0, pos.hwm]
        if pos.xmax is not None:
            c = self._table.c
            late = conn.execute(select(c.txid).distinct().where(c.txid >= pos.xmax, c.seq <= pos.hwm)).scalars()
            for txid in late:
                pos.draining.setdefault(int(txid), [0, pos.hwm])

    def read(self, position: dict | None, limit: int) -> ChangeBatch:
        pos = Position.from_json(position)
        c = self._table.c
        rows = []
        with self._engine.connect().execution_options(**self._snapshots.options) as conn, conn.begin():
            snapshot = self._snapshots.snapshot(conn)
            self._finished_since(conn, pos, snapshot)
            for txid in sorted(pos.draining):
                after, upto = pos.draining[txid]
                budget = limit - len(rows)
                if budget <= 0:
                    break
                got = _rows(conn, self._table, (c.txid == txid, c.seq > after, c.seq <= upto), budget)
                rows += got
                if len(got) < budget:
                    del pos.draining[txid]
                else:
                    pos.draining[txid] = [got[-1].seq, upto]
            budget = limit - len(rows)
            more = budget <= 0
            if budget > 0:
                got = _rows(conn, self._table, (c.seq > pos.hwm,), budget)
                rows += got
                if got:
                    pos.hwm = int(got[-1].seq)
                more = len(got) == budget
            # What this snapshot cannot see may commit rows with seq <= the new hwm later.
            pos.inflight, pos.xmax = sorted(snapshot.running), snapshot.xmax
        return ChangeBatch(
            changes=[self._change(row) for row in rows], position=pos.to_json(), more=more or bool(pos.draining)
        )

    def within(self, position: dict, change: Change) -> bool:
        pos = Position.from_json(position)
        seq, txid = change.mark
        if seq > pos.hwm or pos.unseen(txid):
            return False
        after, upto = pos.draining.get(txid, (0, 0))
        return not (after < seq <= upto)

    def summarize(self, summary: dict | None, change: Change) -> dict:
        """Fold a pending change into its partition's summary (appdb.change_log.summarize)."""
        seq, txid = change.mark
        return summarize(summary, seq, txid)

    def covered(self, point: dict, summary: dict) -> bool:
        """Whether a run that recorded `point` (appdb.change_log.change_log_point) saw them all."""
        return covered(point, summary)

    def acknowledge(self, position: dict) -> int:
        """Delete consumed rows older than the retention (bounded per call); keep the rows of
        transactions the position has not finished reading."""
        if self._retention_s < 0:
            return 0
        pos = Position.from_json(position)
        c = self._table.c
        keep = sorted(set(pos.inflight) | set(pos.draining))
        cutoff = datetime.fromtimestamp(self._now(), tz=timezone.utc) - timedelta(seconds=self._retention_s)
        oldest = select(c.seq, c.changed_at, c.txid).where(c.seq <= pos.hwm).order_by(c.seq).limit(PRUNE_BATCH).subquery()
        read = oldest.c.txid.not_in(keep)
        if pos.xmax is not None:
            read = and_(read, oldest.c.txid < pos.xmax)
        victims = select(oldest.c.seq).where(oldest.c.changed_at < cutoff, or_(oldest.c.txid.is_(None), read))
        with self._engine.begin() as conn:
            return conn.execute(delete(self._table).where(c.seq.in_(victims))).rowcount
