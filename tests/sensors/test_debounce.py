"""The debounce core without Dagster or a database: a list-backed change source and a fake clock."""

import json

import pytest

from sensors.debounce import (
    Change,
    ChangeBatch,
    DebouncePolicy,
    DebounceState,
    LaunchedRun,
    ProcessedRun,
    advance,
    parse_run_key,
    run_key,
)

# The trailing-edge rules alone (the leading edge has its own tests below, on LEADING).
POLICY = DebouncePolicy(
    quiet_s=30, max_wait_s=300, max_items=5, tick_jitter_s=1.0, read_chunk=3, max_read=100, leading_edge=False
)
LEADING = DebouncePolicy(quiet_s=30, max_wait_s=300, max_items=5, tick_jitter_s=1.0, read_chunk=3, max_read=100)


class ListSource:
    """Changes in a list; position = {"next": index}; change.mark = (index,)."""

    def __init__(self):
        self.log: list[Change] = []
        self.acknowledged: list[dict] = []

    def add(self, key: str, *items, op: str = "U") -> None:
        for item in items:
            self.log.append(Change(key=key, item=item, op=op, mark=(len(self.log),)))

    def read(self, position, limit):
        start = (position or {}).get("next", 0)
        chunk = self.log[start : start + limit]
        end = start + len(chunk)
        return ChangeBatch(changes=chunk, position={"next": end}, more=end < len(self.log))

    def within(self, position, change):
        return change.mark[0] < position["next"]

    def acknowledge(self, position):
        self.acknowledged.append(position)
        return 0


class Sensor:
    """Ticks against the source with a clock; `cursor` is what the daemon saved."""

    def __init__(self, source, policy=POLICY):
        self.source, self.policy, self.now, self.cursor = source, policy, 0.0, None

    def tick(self, at: float, runs=(), save: bool = True):
        self.now = at
        outcome = advance(self.cursor, self.source, self.policy, list(runs), now=at)
        if save:
            self.cursor = outcome.state.to_json()
        return outcome


def launched(outcome) -> dict[str, list | None]:
    return {batch.key: batch.items for batch in outcome.batches}


def test_first_tick_reads_everything_and_waits_for_quiet():
    source = ListSource()
    source.add("a", 1, 2)
    sensor = Sensor(source)
    first = sensor.tick(0)
    assert first.read == 2 and first.batches == []
    state = DebounceState.from_json(sensor.cursor)
    assert state.position == {"next": 2} and sorted(state.pending["a"].items) == [1, 2]
    assert source.acknowledged == []  # nothing was saved before: nothing to prune


def test_nothing_new_changes_nothing():
    source = ListSource()
    sensor = Sensor(source)
    assert sensor.tick(0).batches == []
    before = DebounceState.from_json(sensor.cursor)
    again = sensor.tick(5)
    assert again.read == 0 and again.batches == []
    after = DebounceState.from_json(sensor.cursor)
    assert (after.epoch, after.position, after.pending) == (before.epoch, before.position, before.pending)


def test_a_burst_is_one_batch_per_key_after_the_quiet_period():
    source = ListSource()
    sensor = Sensor(source)
    for second in range(0, 25, 5):  # a burst over 20 s, 3 keys
        source.add("a", second, second + 1)
        source.add("b", 100 + second)
        source.add("c", 200 + second)
        assert sensor.tick(second).batches == []
    assert sensor.tick(40).batches == []  # 20 s after the last change: still inside the quiet period
    out = sensor.tick(50)  # 30 s after the last change
    assert launched(out) == {
        "a": None,  # 10 ids > max_items 5: the whole partition
        "b": [100, 105, 110, 115, 120],
        "c": [200, 205, 210, 215, 220],
    }
    assert {b.run_key for b in out.batches} == {run_key(k, out.state.epoch, 0) for k in "abc"}
    assert all(b.reason == "quiet" for b in out.batches)
    assert sensor.tick(100).batches == []  # nothing pending any more


def test_a_quiet_period_restarts_with_every_change():
    source = ListSource()
    sensor = Sensor(source)
    source.add("a", 1)
    sensor.tick(0)
    source.add("a", 2)
    assert sensor.tick(25).batches == []
    assert sensor.tick(50).batches == []  # 25 s after the second change
    assert launched(sensor.tick(55)) == {"a": [1, 2]}


def test_a_tick_a_little_early_still_counts_as_quiet():
    source = ListSource()
    sensor = Sensor(source)
    source.add("a", 1)
    sensor.tick(0)
    assert launched(sensor.tick(29.5)) == {"a": [1]}  # within tick_jitter_s of the quiet period


def test_a_continuous_stream_runs_at_the_latest_after_max_wait():
    source = ListSource()
    sensor = Sensor(source)
    launches = []
    for second in range(0, 400, 10):
        source.add("a", second % 4)  # never quiet for 30 s
        out = sensor.tick(second)
        launches += [(second, b.reason) for b in out.batches]
    assert launches == [(300, "max_wait")]


def test_a_busy_key_folds_new_changes_into_its_next_run():
    source = ListSource()
    sensor = Sensor(source)
    source.add("a", 1)
    sensor.tick(0)
    first = sensor.tick(30)
    assert launched(first) == {"a": [1]}
    in_flight = LaunchedRun("a", first.state.epoch, 0, in_progress=True, position=first.state.position)
    source.add("a", 2)
    source.add("a", 3)
    assert sensor.tick(35, runs=[in_flight]).batches == []
    waiting = sensor.tick(400, runs=[in_flight])  # even past max wait: one run in flight per key
    assert waiting.batches == [] and waiting.busy == ["a"]
    done = LaunchedRun("a", first.state.epoch, 0, in_progress=False, position=first.state.position)
    second = sensor.tick(405, runs=[done])
    assert launched(second) == {"a": [2, 3]}
    assert second.batches[0].run_key == run_key("a", first.state.epoch, 1)


def test_a_backlog_launches_only_overdue_keys_until_caught_up():
    source = ListSource()
    sensor = Sensor(source, DebouncePolicy(quiet_s=30, max_wait_s=300, read_chunk=2, max_read=4))
    source.add("a", *range(10))
    out = sensor.tick(0)
    assert out.read == 4 and out.more and out.batches == []
    out = sensor.tick(100)  # quiet for 100 s, but 2 changes are still unread
    assert out.read == 4 and out.more and out.batches == []
    out = sensor.tick(105)
    assert not out.more and launched(out) == {}  # the last 2 were just seen: quiet again from 105
    assert launched(sensor.tick(135)) == {"a": list(range(10))}


def test_a_retried_tick_asks_for_the_same_run_keys():
    source = ListSource()
    sensor = Sensor(source)
    source.add("a", 1)
    source.add("b", 2)
    sensor.tick(0)
    first = sensor.tick(40, save=False)
    retry = sensor.tick(41, save=False)  # the daemon skips keys it already launched
    assert [b.run_key for b in first.batches] == [b.run_key for b in retry.batches]


def test_runs_of_a_lost_tick_are_recovered_without_dropping_newer_changes():
    source = ListSource()
    sensor = Sensor(source)
    source.add("a", 1, 2)
    source.add("b", 3)
    sensor.tick(0)
    source.add("c", 4)  # c becomes quiet later than a and b
    sensor.tick(20)
    lost = sensor.tick(40, save=False)  # launches a and b, then its cursor is lost
    assert launched(lost) == {"a": [1, 2], "b": [3]}
    runs = [
        LaunchedRun(b.key, lost.state.epoch, 0, in_progress=True, position=lost.state.position) for b in lost.batches
    ]
    source.add("a", 2, 5)  # newer changes, one to an id the lost run already has
    again = sensor.tick(41, runs=runs)
    assert again.recovered == ["a", "b"] and again.batches == []
    state = again.state
    assert sorted(state.pending["a"].items) == [2, 5]  # only the changes after the lost run's read
    assert "b" not in state.pending
    assert sorted(state.pending["c"].items) == [4]  # read again, still pending
    assert state.gen == {"a": 1, "b": 1}
    finished = [LaunchedRun(r.key, r.epoch, r.gen, in_progress=False, position=r.position) for r in runs]
    later = sensor.tick(80, runs=finished)
    assert launched(later) == {"a": [2, 5], "c": [4]}
    assert {b.run_key for b in later.batches} == {run_key("a", state.epoch, 1), run_key("c", state.epoch, 0)}


def test_runs_of_another_epoch_or_already_known_are_not_recovered():
    source = ListSource()
    sensor = Sensor(source)
    source.add("a", 1)
    out = sensor.tick(0)
    epoch = out.state.epoch
    known = LaunchedRun("a", epoch, -1, in_progress=False, position=None)
    other = LaunchedRun("a", "old-epoch", 7, in_progress=False, position=None)
    again = sensor.tick(1, runs=[known, other])
    assert again.recovered == [] and sorted(again.state.pending["a"].items) == [1]


def test_the_saved_position_is_acknowledged_for_pruning():
    source = ListSource()
    sensor = Sensor(source)
    source.add("a", 1, 2)
    sensor.tick(0)
    sensor.tick(5)
    assert source.acknowledged == [{"next": 2}]


def test_cursor_round_trip_and_version_check():
    state = DebounceState.new()
    state.position = {"hwm": 3}
    text = state.to_json()
    assert DebounceState.from_json(text).to_json() == text
    data = json.loads(text)
    data["v"] = 99
    with pytest.raises(ValueError, match="cursor version 99 is not 1; reset the sensor's cursor"):
        DebounceState.from_json(json.dumps(data))


def test_run_keys_parse_back():
    assert parse_run_key(run_key("shard-03", "abc", 12)) == ("shard-03", "abc", 12)
    assert parse_run_key("full-2026-11-23") is None
    assert parse_run_key("") is None


ORDER = ["a", "b", "c", "d", "e"]


def test_neighbouring_due_keys_of_one_kind_share_a_batch():
    source = ListSource()
    sensor = Sensor(source, DebouncePolicy(quiet_s=30, max_wait_s=300, max_items=2, leading_edge=False))
    source.add("a", 1)
    source.add("b", 2)
    source.add("c", 3, 4, 5)  # more than max_items: the whole partition
    source.add("e", 6)
    sensor.tick(0)
    out = advance(sensor.cursor, source, sensor.policy, [], now=30, order=ORDER)
    assert [(b.keys, b.items) for b in out.batches] == [(("a", "b"), [1, 2]), (("c",), None), (("e",), [6])]
    merged = out.batches[0]
    assert merged.key == "a...b" and merged.run_key == run_key("a...b", out.state.epoch, 0)
    assert merged.gens == {"a": 0, "b": 0} and out.state.gen == {"a": 1, "b": 1, "c": 1, "e": 1}


def test_a_lost_range_run_is_recovered_for_every_key_it_covers():
    source = ListSource()
    sensor = Sensor(source)
    source.add("a", 1)
    source.add("b", 2)
    sensor.tick(0)
    lost = advance(sensor.cursor, source, POLICY, [], now=30, order=ORDER)
    [batch] = lost.batches
    run = LaunchedRun(batch.key, lost.state.epoch, 0, in_progress=True, position=lost.state.position, gens=batch.gens)
    source.add("b", 3)
    again = advance(sensor.cursor, source, POLICY, [run], now=31, order=ORDER)
    assert again.recovered == ["a", "b"] and again.busy == ["b"]
    assert {k: sorted(p.items) for k, p in again.state.pending.items()} == {"b": [3]}
    assert again.state.gen == {"a": 1, "b": 1}


# --- leading edge (issue 11): an isolated change runs at once, a burst still folds -----------------------


def test_an_isolated_change_launches_at_once_on_the_leading_edge():
    source = ListSource()
    sensor = Sensor(source, LEADING)
    source.add("a", 1)
    out = sensor.tick(0)
    assert launched(out) == {"a": [1]} and out.batches[0].reason == "leading"
    assert out.batches[0].run_key == run_key("a", out.state.epoch, 0)


def test_a_burst_after_a_leading_edge_folds_into_one_run_per_quiet_period():
    source = ListSource()
    sensor = Sensor(source, LEADING)
    launches = []
    for second in range(0, 25, 5):  # a burst over 20 s
        source.add("a", second)
        launches += [(second, b.key, b.items, b.reason) for b in sensor.tick(second).batches]
    for second in range(30, 120, 5):
        launches += [(second, b.key, b.items, b.reason) for b in sensor.tick(second).batches]
    # The first change at once, the rest 30 s after the last one: never two runs within 30 s.
    assert launches == [(0, "a", [0], "leading"), (50, "a", [5, 10, 15, 20], "quiet")]


def test_no_leading_edge_within_a_quiet_period_of_the_last_launch_or_change():
    source = ListSource()
    sensor = Sensor(source, LEADING)
    source.add("a", 1)
    assert launched(sensor.tick(0)) == {"a": [1]}
    source.add("a", 2)
    assert sensor.tick(20).batches == []  # 20 s after the leading run: waits for quiet
    assert launched(sensor.tick(50)) == {"a": [2]}
    source.add("a", 3)
    assert sensor.tick(60).batches == []  # 10 s after the last launch
    source.add("b", 9)  # another partition is its own edge
    assert launched(sensor.tick(61)) == {"b": [9]}
    source.add("a", 4)
    assert launched(sensor.tick(200)) == {"a": [3, 4]}  # quiet since 60 s... and > quiet since the last run
    source.add("a", 5)
    assert launched(sensor.tick(240)) == {"a": [5]}  # 40 s after: an edge again
    assert "recent" in sensor.cursor and set(DebounceState.from_json(sensor.cursor).recent) == {"a"}


def test_a_busy_partition_has_no_leading_edge():
    source = ListSource()
    sensor = Sensor(source, LEADING)
    state = DebounceState.from_json(sensor.tick(0).state.to_json())
    in_flight = LaunchedRun("a", state.epoch, 0, in_progress=True, position=None)
    source.add("a", 1)
    out = sensor.tick(100, runs=[in_flight])
    assert out.batches == [] and out.busy == ["a"]


def test_the_leading_edge_can_be_turned_off():
    source = ListSource()
    sensor = Sensor(source, POLICY)
    source.add("a", 1)
    assert sensor.tick(0).batches == []
    assert launched(sensor.tick(30)) == {"a": [1]}


def test_old_cursors_without_the_new_fields_still_load():
    old = json.dumps({"v": 1, "epoch": "e", "position": {"next": 1}, "gen": {"a": 2}, "saved_at": 5.0,
                      "pending": {"a": {"items": [1], "first": 1.0, "last": 2.0, "changes": 1}}})
    state = DebounceState.from_json(old)
    assert state.recent == {} and state.pending["a"].made is None and state.pending["a"].processed_before(5) == 2.0


# --- processed by any run (issue 11): a change a run already covered is not launched again -----------------


def _processed(by_key):
    calls = []

    def processed(keys):
        calls.append(list(keys))
        return {key: by_key[key] for key in keys if key in by_key}

    return processed, calls


def test_changes_a_later_whole_partition_run_processed_are_dropped():
    source = ListSource()
    for i in range(3):
        source.log.append(Change(key="d1", item=i, mark=(len(source.log),), at=100.0))
    source.log.append(Change(key="d2", item=7, mark=(len(source.log),), at=100.0))
    processed, calls = _processed({
        "d1": [ProcessedRun("demo-run", started=110.0, items=None)],  # a run (the demo's) after the changes
        "d2": [ProcessedRun("old-run", started=90.0, items=None)],  # before them: did not see them
    })
    out = advance(None, source, LEADING, [], now=1000.0, processed=processed)
    assert calls == [["d1", "d2"]]
    assert out.processed == {"d1": 3} and launched(out) == {"d2": [7]}
    assert "already processed" in out.summary()


def test_a_run_over_some_items_consumes_only_those():
    source = ListSource()
    for item in (1, 2, 3):
        source.log.append(Change(key="s", item=item, mark=(len(source.log),), at=100.0))
    processed, _ = _processed({"s": [ProcessedRun("r", started=200.0, items=[1, 3, 99])]})
    out = advance(None, source, LEADING, [], now=300.0, processed=processed)
    assert out.processed == {} and launched(out) == {"s": [2]}


def test_a_run_that_started_before_the_change_was_seen_or_within_the_margin_consumes_nothing():
    source = ListSource()
    source.log.append(Change(key="s", item=1, mark=(0,), at=100.0))  # made at 100, seen at 300
    processed, _ = _processed({"s": [ProcessedRun("r", started=101.5, items=None)]})  # within the 2-s margin
    out = advance(None, source, LEADING, [], now=300.0, processed=processed)
    assert launched(out) == {"s": [1]}
    source.add("t", 5)  # no `at`: only a run that started after the change was seen counts
    sensor_cursor = out.state.to_json()
    processed, _ = _processed({"t": [ProcessedRun("r", started=350.0, items=None)]})
    out = advance(sensor_cursor, source, POLICY, [], now=400.0, processed=processed)
    assert out.state.pending["t"].items == {5}
    lookups, calls = _processed({"t": [ProcessedRun("r2", started=400.5, items=None)]})
    out = advance(out.state.to_json(), source, POLICY, [], now=420.0, processed=lookups)
    assert calls == [] and "t" in out.state.pending  # runs are looked up only when a partition is due
    out = advance(out.state.to_json(), source, POLICY, [], now=431.0, processed=lookups)
    assert calls == [["t"]] and out.processed == {"t": 1} and "t" not in out.state.pending and out.batches == []


def test_a_partition_that_is_not_ready_is_held_with_its_changes():
    source = ListSource()
    source.add("2099-01-01", 1)
    source.add("2025-01-01", 2)
    ready = lambda key: key <= "2026-12-03"  # noqa: E731
    sensor_cursor = None
    out = advance(sensor_cursor, source, LEADING, [], now=0.0, ready=ready)
    assert launched(out) == {"2025-01-01": [2]} and out.held == ["2099-01-01"]
    out = advance(out.state.to_json(), source, LEADING, [], now=400.0, ready=ready)
    assert out.batches == [] and out.state.pending["2099-01-01"].items == {1}  # kept, past max wait too
    out = advance(out.state.to_json(), source, LEADING, [], now=500.0, ready=lambda key: True)  # its day came
    assert launched(out) == {"2099-01-01": [1]}
