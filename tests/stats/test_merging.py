"""Process rows (``tracekit_stats.writer``): several per key until merged, read as one by
the pages; merged into one row per key once the minute closed, and added to its hour's
row (flushes write no hour row); late writes, rolled-back
writes and rows gone from under a process counted once."""

from __future__ import annotations

import time

import pytest
from django.db import transaction
from django.db.models import Sum

from django_tracekit.core import histogram
from django_tracekit.destinations.stats import merging, own_rows, store
from django_tracekit.pages.shared.window import Window
from django_tracekit.pages.usage import table as queries
from django_tracekit.storage.usage_models import HOUR, MINUTE, FeatureStats, StatsCompacted

pytestmark = pytest.mark.django_db

MS = 1_000_000


def entry(calls: int, ms: int, version: str = "") -> list[object]:
    return [calls, 1, calls * ms * MS, ms * MS, {histogram.bucket_index(ms * MS): calls}, 0,
            None, version, 0, 0, 0]


def new_process() -> None:
    """What a fork does to the writer: a new id, nothing remembered."""
    own_rows.forget()


def next_minute() -> int:
    """A minute after the test database's merge watermark, with its hour."""
    minute = int(time.time()) // 60 + 1
    return minute + 1 if minute % 60 == 59 else minute


def page_row(minute: int) -> dict[str, object]:
    start = minute * 60 - minute * 60 % HOUR
    window = Window("custom", start, start + HOUR, MINUTE, "", open_end=True)
    (row,) = queries.feature_table(window, kind="all", scope="all", sort="-p50")
    return row


def test_processes_write_their_own_rows_and_the_merge_keeps_every_number() -> None:
    minute = next_minute()
    key = ("GET /a/", "request", "web", minute)
    store.write({key: entry(3, 5, "2.0")})
    store.write({key: entry(2, 5, "2.0")})  # the same process: its rows, added to
    new_process()
    store.write({key: entry(4, 40, "2.0")})
    rows = FeatureStats.objects.filter(resolution=MINUTE)
    assert rows.count() == 2 and rows.values("writer").distinct().count() == 2
    # No hour row yet: the merge adds the minute to it (pages read the minute meanwhile).
    assert not FeatureStats.objects.filter(resolution=HOUR).exists()
    before = page_row(minute)
    assert (before["calls"], before["errors"], before["max_us"]) == (9, 3, 40_000)

    merged = merging.merge("default", now=(minute + 1) * 60 + HOUR + merging.MERGE_AFTER)
    assert merged == 1  # one minute row merged away; the hour row built from it
    for resolution in (MINUTE, HOUR):
        (row,) = FeatureStats.objects.filter(resolution=resolution)
        assert (row.writer, row.calls, row.errors, row.duration_sum_us) == (
            0, 9, 3, 5 * 5_000 + 4 * 40_000)
        assert sum(histogram.unpack(row.latency).values()) == 9
    after = page_row(minute)
    assert {k: after[k] for k in ("calls", "errors", "p50", "p95", "max_us")} == {
        k: before[k] for k in ("calls", "errors", "p50", "p95", "max_us")}
    marks = dict(StatsCompacted.objects.values_list("resolution", "through"))
    assert marks[MINUTE] > minute * 60

    # A late write to the merged minute adds to the merged row (no new process row).
    new_process()
    store.write({key: entry(1, 5, "2.0")})
    assert FeatureStats.objects.filter(resolution=MINUTE).count() == 1
    assert FeatureStats.objects.get(resolution=MINUTE).calls == 10
    assert FeatureStats.objects.get(resolution=HOUR).calls == 10  # and to its hour


def test_a_key_s_only_process_row_becomes_the_merged_row() -> None:
    minute = next_minute()
    store.write({("t", "task", "w", minute): entry(2, 3)})
    assert merging.merge("default", now=(minute + 1) * 60 + HOUR + merging.MERGE_AFTER) == 0
    assert set(FeatureStats.objects.values_list("writer", "calls")) == {(0, 2)}


def test_a_rolled_back_write_is_not_remembered() -> None:
    minute = next_minute()
    key = ("GET /r/", "request", "web", minute)
    store.write({key: entry(5, 5)})
    with pytest.raises(RuntimeError), transaction.atomic():
        store.write({key: entry(7, 5)})
        raise RuntimeError("the caller's transaction rolls back")
    store.write({key: entry(1, 5)})
    assert FeatureStats.objects.filter(resolution=MINUTE).aggregate(n=Sum("calls"))["n"] == 6


def test_a_row_gone_from_under_its_process_gets_only_the_new_calls() -> None:
    minute = next_minute()
    key = ("GET /g/", "request", "web", minute)
    store.write({key: entry(5, 5)})
    FeatureStats.objects.all().delete()  # pruned, or a test database emptied
    store.write({key: entry(2, 5)})
    assert sorted(FeatureStats.objects.values_list("resolution", "calls")) == [(MINUTE, 2)]


def test_each_thread_writes_its_own_rows() -> None:
    import threading

    minute = next_minute()
    key = ("GET /t/", "request", "web", minute)
    store.write({key: entry(1, 5)})
    ids = [own_rows.writer_id()]
    thread = threading.Thread(target=lambda: ids.append(own_rows.writer_id()))
    thread.start()
    thread.join()
    assert ids[0] != ids[1] and ids[0] == own_rows.writer_id()


def test_a_row_no_longer_remembered_is_read_back() -> None:
    minute = next_minute()
    key = ("GET /f/", "request", "web", minute)
    store.write({key: entry(5, 5)})
    own_rows._state().known.clear()  # forgotten (long closed), the row still there
    store.write({key: entry(2, 5)})
    assert sorted(FeatureStats.objects.values_list("resolution", "calls")) == [(MINUTE, 7)]
