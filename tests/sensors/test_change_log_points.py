"""`appdb.change_log.summarize` / `covered`: whether a run that recorded a point saw a pending set."""

from appdb.change_log import MAX_SUMMARY_TXIDS, covered, summarize


def summary_of(*changes: tuple[int, int | None]) -> dict:
    summary = None
    for seq, txid in changes:
        summary = summarize(summary, seq, txid)
    return summary


def test_sqlite_judges_by_the_highest_seq():
    summary = summary_of((3, None), (7, None), (5, None))
    assert summary == {"seq": 7, "max_tx": None, "tx": []}
    assert covered({"seq": 7}, summary) and not covered({"seq": 6}, summary)


def test_postgresql_judges_by_transactions_finished_before_the_snapshot():
    summary = summary_of((10, 500), (11, 503), (12, 500))
    assert summary == {"seq": 12, "max_tx": 503, "tx": [500, 503]}
    assert covered({"xmin": 504, "xmax": 510, "xip": []}, summary)  # all below xmin: finished
    assert covered({"xmin": 499, "xmax": 510, "xip": [499, 505]}, summary)  # finished, not listed running
    assert not covered({"xmin": 499, "xmax": 510, "xip": [503]}, summary)  # 503 still running then
    assert not covered({"xmin": 499, "xmax": 503, "xip": []}, summary)  # 503 at or above xmax: not visible


def test_too_many_transactions_are_judged_by_xmin_alone():
    summary = summary_of(*[(i, 1000 + i) for i in range(MAX_SUMMARY_TXIDS + 1)])
    assert summary["tx"] is None and summary["max_tx"] == 1000 + MAX_SUMMARY_TXIDS
    top = summary["max_tx"]
    assert covered({"xmin": top + 1, "xmax": top + 5, "xip": []}, summary)
    assert not covered({"xmin": top - 1, "xmax": top + 5, "xip": []}, summary)  # cannot tell: not seen
