"""Debounce and coalesce a stream of changes into runs: the reusable core of the change sensors.

Pure functions over a JSON cursor, no Dagster and no database: a `ChangeSource` delivers changes in
order from an opaque position; `advance` folds them into per-partition pending sets and decides which
partitions get a run now. The Dagster side (sensors/debounced_sensor.py) reads the launched runs from
the instance and turns `Batch`es into RunRequests. sensors/README.md explains the rules:

- leading edge: a partition with no run in flight and no change (or launch) in the last `quiet_s` runs
  on its first change at once; what follows it within the quiet period folds into the next run;
- quiet period: a partition runs once no change arrived for `quiet_s` (a burst = one run);
- max wait: a partition with changes runs at the latest `max_wait_s` after its first pending change;
- in flight: while a run of the partition is queued or running, its new changes wait for the next run;
- processed: a change that a successful run (whoever launched it: the sensor, a schedule, the UI, a
  demo) already covered is consumed, not launched again;
- run keys `<partition>:<epoch>:<gen>` (`<first>...<last>:<epoch>:<gen>` for a merged range): a
  retried tick re-emits the same key (the daemon skips it);
- recovery: runs launched by a tick whose cursor was lost are found in the instance, so their
  changes are neither launched twice nor dropped.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Iterable, Protocol, Sequence

CURSOR_VERSION = 1


@dataclass(frozen=True)
class DebouncePolicy:
    quiet_s: float = 30.0
    max_wait_s: float = 300.0
    # More pending items than this for one partition: one run of the whole partition instead of a list.
    max_items: int = 2000
    # Sensor ticks are not exactly periodic; a quiet period that ends this close to a tick counts as over
    # (at most a fifth of the period).
    tick_jitter_s: float = 1.0
    # One tick reads at most this many changes, in chunks of `read_chunk`, for at most `read_budget_s`.
    read_chunk: int = 20_000
    max_read: int = 200_000
    read_budget_s: float = 20.0
    # Leading edge: a partition whose last change (and last launch) is older than the quiet period runs
    # at its first change, without waiting for quiet (an isolated edit is searchable in seconds). A burst
    # then folds into one more run after its quiet period: at most one run per partition per quiet period.
    leading_edge: bool = True
    # Only for runs that recorded no point and sources that cannot judge points (see `drop_processed`):
    # a change made this long before a successful run of its partition started counts as processed by
    # that run, even before the sensor saw it (`Change.at`, the source's clock: covers a transaction that
    # commits a little after it logged its change; SQLite stamps whole seconds). A change the sensor had
    # seen before the run started always counts.
    processed_margin_s: float = 2.0


@dataclass(frozen=True)
class Change:
    key: str  # the partition this change belongs to
    item: Hashable  # the entity the run must handle (JSON-serializable: int or str)
    op: str = "U"  # I, U or D (counted, not interpreted: a run handles every item the same way)
    mark: tuple = ()  # the source's ordering facts, interpreted only by ChangeSource.within
    at: float | None = None  # when the change was made (epoch s), if the source knows; else when it was seen


@dataclass(frozen=True)
class ChangeBatch:
    changes: Sequence[Change]
    position: dict  # JSON-serializable; where the next read starts
    more: bool  # the source has more changes after `position` right now


class ChangeSource(Protocol):
    def read(self, position: dict | None, limit: int) -> ChangeBatch:
        """Up to about `limit` changes after `position` (None: from the start), in delivery order."""

    def within(self, position: dict, change: Change) -> bool:
        """Whether `change` had been delivered by the reads that ended at `position`."""

    def acknowledge(self, position: dict) -> int:
        """Every change up to `position` is safely recorded (the cursor holding it is saved):
        the source may prune them. Returns how many it pruned."""

    # Optional, for judging "already processed" exactly (ChangeLogSource has them):
    #   summarize(summary: dict | None, change) -> dict: fold a pending change into its partition's
    #       summary (JSON-serializable, small);
    #   covered(point: dict, summary: dict) -> bool: whether a run that recorded `point` (in its
    #       materialization, before it read anything) saw every change of `summary`.


@dataclass
class Pending:
    items: set | None  # None: the whole partition
    first: float  # when the oldest pending change was seen
    last: float  # when the newest pending change was seen
    changes: int = 0
    made: float | None = None  # when the newest pending change was made (Change.at; None: as `last`)
    summary: dict | None = None  # the source's summary of the pending changes (ChangeSource.summarize)

    def processed_before(self, margin_s: float) -> float:
        """A run that started after this time has seen every pending change."""
        return self.last if self.made is None else min(self.last, self.made + margin_s)

    def to_json(self) -> dict:
        items = None if self.items is None else sorted(self.items, key=_sort_key)
        return {
            "items": items, "first": self.first, "last": self.last, "changes": self.changes, "made": self.made,
            "summary": self.summary,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Pending":
        items = data.get("items")
        return cls(
            None if items is None else set(items), data["first"], data["last"], data.get("changes", 0), data.get("made"),
            data.get("summary"),
        )


def _sort_key(item: Any) -> tuple:
    return (0, item, "") if isinstance(item, int) else (1, 0, str(item))


@dataclass
class DebounceState:
    """Everything the cursor holds. `epoch` is new whenever the cursor starts over (first tick, reset),
    so run keys never collide with those of an earlier cursor's runs."""

    epoch: str
    position: dict | None = None
    pending: dict[str, Pending] = field(default_factory=dict)
    gen: dict[str, int] = field(default_factory=dict)  # next run number per partition
    saved_at: float = 0.0  # when the tick that wrote this cursor ran
    # Per partition, its last change or launch within the quiet period (older entries are dropped): a
    # partition not in here may launch on the leading edge.
    recent: dict[str, float] = field(default_factory=dict)

    @classmethod
    def new(cls) -> "DebounceState":
        return cls(epoch=uuid.uuid4().hex[:10])

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": CURSOR_VERSION,
                "epoch": self.epoch,
                "position": self.position,
                "pending": {key: p.to_json() for key, p in sorted(self.pending.items())},
                "gen": dict(sorted(self.gen.items())),
                "saved_at": self.saved_at,
                "recent": dict(sorted(self.recent.items())),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, cursor: str | None) -> "DebounceState":
        if not cursor:
            return cls.new()
        data = json.loads(cursor)
        if data.get("v") != CURSOR_VERSION:
            raise ValueError(f"cursor version {data.get('v')!r} is not {CURSOR_VERSION}; reset the sensor's cursor")
        return cls(
            epoch=data["epoch"],
            position=data.get("position"),
            pending={key: Pending.from_json(p) for key, p in data.get("pending", {}).items()},
            gen={key: int(n) for key, n in data.get("gen", {}).items()},
            saved_at=float(data.get("saved_at", 0.0)),
            recent={key: float(t) for key, t in data.get("recent", {}).items()},
        )


def run_key(key: str, epoch: str, gen: int) -> str:
    return f"{key}:{epoch}:{gen}"


def parse_run_key(value: str) -> tuple[str, str, int] | None:
    """(partition, epoch, gen) of a key made by `run_key`; None for any other key."""
    parts = value.rsplit(":", 2)
    if len(parts) != 3 or not parts[2].isdigit():
        return None
    return parts[0], parts[1], int(parts[2])


@dataclass(frozen=True)
class LaunchedRun:
    """A run this sensor launched, as the instance knows it."""

    key: str  # its partition, or "first...last" for a run over a range of partitions
    epoch: str
    gen: int
    in_progress: bool  # queued, starting or running
    position: dict | None  # the source position of the tick that launched it (None: unknown)
    gens: dict[str, int] | None = None  # run number per partition it covers (None: {key: gen})

    def covered(self) -> dict[str, int]:
        return dict(self.gens) if self.gens else {self.key: self.gen}


@dataclass(frozen=True)
class ProcessedRun:
    """A successful run (launched by anyone) that processed a partition."""

    run_id: str
    started: float  # epoch seconds
    items: list | None  # the items it processed; None: the whole partition
    point: dict | None = None  # where it read the source from (ChangeSource.covered), if it recorded it


@dataclass(frozen=True)
class Batch:
    """One run to request: the pending items of one partition, or of consecutive partitions."""

    keys: tuple[str, ...]  # the partitions, in order (more than one only when `plan` merges a range)
    items: list | None  # None: the whole partition(s)
    run_key: str
    changes: int
    waited_s: float  # since the oldest change of the batch was seen
    reason: str  # "leading", "quiet" or "max_wait"
    gens: dict[str, int] = field(default_factory=dict)  # the run number this batch uses per partition

    @property
    def key(self) -> str:
        return self.keys[0] if len(self.keys) == 1 else f"{self.keys[0]}...{self.keys[-1]}"


@dataclass
class TickOutcome:
    state: DebounceState
    batches: list[Batch]
    read: int = 0
    ops: Counter = field(default_factory=Counter)
    more: bool = False  # changes were left unread (the next tick goes on)
    recovered: list[str] = field(default_factory=list)  # partitions of runs found launched by a lost tick
    busy: list[str] = field(default_factory=list)  # partitions waiting for their in-flight run
    held: list[str] = field(default_factory=list)  # partitions that cannot run yet (not `ready`)
    processed: dict[str, int] = field(default_factory=dict)  # changes dropped per partition: a run already did them
    pruned: int = 0

    def summary(self) -> str:
        ops = ", ".join(f"{op}={n}" for op, n in sorted(self.ops.items())) or "none"
        waiting = {key: len(p.items) if p.items is not None else "all" for key, p in self.state.pending.items()}
        parts = [f"read {self.read} changes ({ops})" + (" and more remain" if self.more else "")]
        if self.batches:
            launches = (f"{b.key} ({len(b.items) if b.items is not None else 'all'} items, {b.reason})" for b in self.batches)
            parts.append("launch " + ", ".join(launches))
        if waiting:
            parts.append(f"pending {waiting}")
        if self.processed:
            parts.append(f"already processed by later runs: {dict(sorted(self.processed.items()))} changes")
        if self.busy:
            parts.append(f"waiting for in-flight runs of {sorted(self.busy)}")
        if self.held:
            parts.append(f"held until their partitions exist: {sorted(self.held)}")
        if self.recovered:
            parts.append(f"recovered runs launched by an unsaved tick: {sorted(self.recovered)}")
        if self.pruned:
            parts.append(f"pruned {self.pruned} consumed change rows")
        return "; ".join(parts)


def recover(state: DebounceState, runs: Iterable[LaunchedRun]) -> dict[str, dict | None]:
    """Account for runs of this cursor's epoch that the cursor does not know about: a tick launched
    them and its cursor was never saved. Their partitions' pending items went into those runs; the
    changes that tick had read (up to the run's position) are dropped when read again.

    Returns {partition: position of its newest such run (None: unknown, nothing is dropped)}.
    """
    newest: dict[str, tuple[int, dict | None]] = {}
    for run in runs:
        if run.epoch != state.epoch:
            continue
        for key, gen in run.covered().items():
            if gen >= state.gen.get(key, 0) and (key not in newest or gen > newest[key][0]):
                newest[key] = (gen, run.position)
    for key, (gen, _) in newest.items():
        state.gen[key] = gen + 1
        state.pending.pop(key, None)
    return {key: position for key, (_, position) in newest.items()}


def fold(
    state: DebounceState,
    changes: Iterable[Change],
    now: float,
    policy: DebouncePolicy,
    *,
    seen_by: dict[str, dict | None] | None = None,
    within: Callable[[dict, Change], bool] | None = None,
    summarize: Callable[[dict | None, Change], dict] | None = None,
) -> Counter:
    """Add changes to the pending sets (skipping those `seen_by` a recovered run); count ops."""
    ops: Counter = Counter()
    for change in changes:
        ops[change.op] += 1
        if seen_by and change.key in seen_by:
            position = seen_by[change.key]
            if position is not None and within is not None and within(position, change):
                continue
        pending = state.pending.get(change.key)
        created = pending is None
        if created:
            pending = state.pending[change.key] = Pending(items=set(), first=now, last=now)
        pending.last = now
        pending.changes += 1
        made = now if change.at is None else min(change.at, now)
        pending.made = made if pending.made is None else max(pending.made, made)
        state.recent[change.key] = now
        # A set pending from before summaries (an older cursor) keeps none: a partial one would misjudge.
        if summarize is not None and (created or pending.summary is not None):
            pending.summary = summarize(pending.summary, change)
        if pending.items is not None:
            pending.items.add(change.item)
            if len(pending.items) > policy.max_items:
                pending.items = None
    return ops


def due_now(
    state: DebounceState, now: float, policy: DebouncePolicy, blocked: set[str], caught_up: bool, leading: set[str]
) -> list[tuple[str, Pending, str]]:
    """(partition, pending, reason) of every partition that would launch now."""
    due = []
    for key in sorted(state.pending):
        pending = state.pending[key]
        if key in blocked:
            continue
        quiet = caught_up and now - pending.last >= policy.quiet_s - min(policy.tick_jitter_s, policy.quiet_s / 5)
        overdue = now - pending.first >= policy.max_wait_s - min(policy.tick_jitter_s, policy.max_wait_s / 5)
        if overdue:
            due.append((key, pending, "max_wait"))
        elif quiet or (caught_up and key in leading):  # a backlog being read is a burst, not an edge
            due.append((key, pending, "quiet" if quiet else "leading"))
    return due


def plan(
    state: DebounceState,
    now: float,
    policy: DebouncePolicy,
    busy: set[str],
    caught_up: bool,
    order: Sequence[str] | None = None,
    leading: Iterable[str] = (),
    held: Iterable[str] = (),
) -> list[Batch]:
    """The partitions that run now; their pending sets move into batches and their run numbers advance.

    While changes are still unread (`caught_up` false) nobody can say a partition has gone quiet, so
    only max-wait launches happen. With `order` (every partition key, in partition order), due
    partitions that are neighbours in it and alike (all with item lists, or all whole) share one run
    over their range: a burst across every shard is one run, which loads its models once. `leading`
    partitions (see `leading_keys`) run now whatever their quiet period; `held` ones do not run yet.
    """
    due = due_now(state, now, policy, set(busy) | set(held), caught_up, set(leading))

    groups: list[list[tuple[str, Pending, str]]] = []
    if order is None:
        groups = [[entry] for entry in due]
    else:
        index = {key: i for i, key in enumerate(order)}
        for entry in sorted(due, key=lambda e: index.get(e[0], len(index))):
            last = groups[-1][-1] if groups else None
            if (
                last is not None
                and entry[0] in index
                and last[0] in index
                and index[entry[0]] == index[last[0]] + 1
                and (entry[1].items is None) == (last[1].items is None)
            ):
                groups[-1].append(entry)
            else:
                groups.append([entry])

    batches = []
    for group in groups:
        keys = tuple(key for key, _, _ in group)
        whole = group[0][1].items is None
        items = None if whole else sorted(set().union(*(p.items for _, p, _ in group)), key=_sort_key)
        gens = {key: state.gen.get(key, 0) for key in keys}
        spec = keys[0] if len(keys) == 1 else f"{keys[0]}...{keys[-1]}"
        batches.append(
            Batch(
                keys=keys,
                items=items,
                run_key=run_key(spec, state.epoch, gens[keys[0]]),
                changes=sum(p.changes for _, p, _ in group),
                waited_s=round(now - min(p.first for _, p, _ in group), 3),
                reason=next((r for r in ("max_wait", "quiet") if any(g[2] == r for g in group)), "leading"),
                gens=gens,
            )
        )
        for key in keys:
            state.gen[key] = gens[key] + 1
            state.recent[key] = now
            del state.pending[key]
    return batches


def leading_keys(state: DebounceState, recent_before: dict[str, float], now: float, policy: DebouncePolicy) -> set[str]:
    """Pending partitions whose last change or launch before this tick is older than the quiet period
    (`recent_before`: `state.recent` as the tick found it): they may launch on the leading edge."""
    if not policy.leading_edge:
        return set()
    quiet = policy.quiet_s - min(policy.tick_jitter_s, policy.quiet_s / 5)
    return {key for key in state.pending if key not in recent_before or now - recent_before[key] >= quiet}


def drop_processed(
    state: DebounceState,
    processed: dict[str, Sequence[ProcessedRun]],
    policy: DebouncePolicy,
    covered: Callable[[dict, dict], bool] | None = None,
) -> dict[str, int]:
    """Consume pending changes that a successful run already covered, whoever launched it. A run that
    recorded its point saw them if the source says every pending change was visible there
    (`covered`: exact, no clocks); a run without one, if it started after the changes were seen, or
    made plus `processed_margin_s`. A run over the whole partition consumes every pending change of
    it; a run over some items consumes those items. Returns the changes dropped per partition."""
    dropped: dict[str, int] = {}
    for key, runs in processed.items():
        pending = state.pending.get(key)
        if pending is None:
            continue
        after = pending.processed_before(policy.processed_margin_s)
        for run in runs:
            if covered is not None and run.point is not None and pending.summary is not None:
                if not covered(run.point, pending.summary):
                    continue
            elif run.started <= after:
                continue
            if run.items is None:
                pending.items = set()
            elif pending.items is not None:
                pending.items -= set(run.items)
        if pending.items is not None and not pending.items:
            dropped[key] = pending.changes
            del state.pending[key]
    return dropped


def advance(
    cursor: str | None,
    source: ChangeSource,
    policy: DebouncePolicy,
    runs: Sequence[LaunchedRun],
    now: float,
    clock: Callable[[], float] = time.monotonic,
    order: Sequence[str] | None = None,
    processed: Callable[[list[str]], dict[str, Sequence[ProcessedRun]]] | None = None,
    ready: Callable[[str], bool] | None = None,
) -> TickOutcome:
    """One tick: recover, prune what the saved cursor consumed, read (bounded), fold, drop what runs
    already processed, plan.

    `processed(partitions)` gives the successful runs (any launcher) that last processed each of the
    partitions about to launch; `ready(partition)` false keeps a partition's changes pending (say, a day
    partition that does not exist yet).
    """
    state = DebounceState.from_json(cursor)
    recent_before = {key: t for key, t in state.recent.items() if now - t < policy.quiet_s}
    saved_position = state.position if cursor else None
    outcome = TickOutcome(state=state, batches=[])
    seen_by = recover(state, runs)
    outcome.recovered = sorted(seen_by)
    if saved_position is not None:
        outcome.pruned = source.acknowledge(saved_position)

    summarize, covered = getattr(source, "summarize", None), getattr(source, "covered", None)
    started = clock()
    more = True
    while more and outcome.read < policy.max_read and clock() - started < policy.read_budget_s:
        batch = source.read(state.position, min(policy.read_chunk, policy.max_read - outcome.read))
        outcome.ops.update(
            fold(state, batch.changes, now, policy, seen_by=seen_by, within=source.within, summarize=summarize)
        )
        outcome.read += len(batch.changes)
        state.position = batch.position
        more = batch.more
    outcome.more = more

    busy = {key for run in runs if run.in_progress for key in run.covered()}
    held = {key for key in state.pending if ready is not None and not ready(key)}
    leading = leading_keys(state, recent_before, now, policy)
    if processed is not None:
        # Looked up only for the partitions about to launch (a few instance queries each), not every tick.
        due = [key for key, _, _ in due_now(state, now, policy, busy | held, not more, leading)]
        if due:
            outcome.processed = drop_processed(state, processed(due), policy, covered)
    outcome.busy = sorted(busy & set(state.pending))
    outcome.held = sorted(held)
    outcome.batches = plan(state, now, policy, busy, caught_up=not more, order=order, leading=leading, held=held)
    state.recent = {key: t for key, t in state.recent.items() if now - t < policy.quiet_s}
    state.saved_at = now
    return outcome
