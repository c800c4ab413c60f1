"""The light write path: one row per feature per flush (its minute; the merge adds it to
its hour), exact counts, percentiles from the
packed histogram within 2 % of the exact ones, days and weeks built from the hours."""

from __future__ import annotations

import math
import random
import time

import pytest
from django.db.models import Sum

from django_tracekit.core import histogram
from django_tracekit.destinations.stats import compaction, merging, store
from django_tracekit.pages.shared.window import Window
from django_tracekit.pages.usage import table as queries
from django_tracekit.storage.usage_models import (
    DAY,
    HOUR,
    MINUTE,
    WEEK,
    Feature,
    FeatureStats,
    StatsCompacted,
)

pytestmark = pytest.mark.django_db

MS = 1_000_000


def entry(durations_ns: list[int], version: str = "") -> list[object]:
    hist: dict[int, int] = {}
    for d in durations_ns:
        index = histogram.bucket_index(d)
        hist[index] = hist.get(index, 0) + 1
    return [len(durations_ns), 0, sum(durations_ns), max(durations_ns), hist, 0, None, version,
            0, 0, 0]


def test_a_flush_writes_one_row_per_feature_and_the_merge_adds_it_to_its_hour() -> None:
    minute = int(time.time()) // 60
    increments = {(f"GET /f{i}/", "request", "web", minute): entry([5 * MS], "2.0")
                  for i in range(50)}
    assert store.write(increments) == 50
    assert FeatureStats.objects.count() == 50
    assert set(FeatureStats.objects.values_list("resolution", flat=True)) == {MINUTE}
    store.write(increments)  # the same rows, added to
    assert FeatureStats.objects.count() == 50
    assert FeatureStats.objects.aggregate(n=Sum("calls"))["n"] == 2 * 50
    # Once the minute closed, the merge adds it to its hour's row (one per feature).
    merging.merge("default", now=minute * 60 + MINUTE + merging.MERGE_AFTER)
    hours = FeatureStats.objects.filter(resolution=HOUR)
    assert (hours.count(), hours.aggregate(n=Sum("calls"))["n"]) == (50, 2 * 50)
    assert set(hours.values_list("writer", "bucket_start")) == {
        (0, minute * 60 - minute * 60 % HOUR)}


def test_percentiles_come_within_2_percent_of_the_exact_ones() -> None:
    rng = random.Random(23)
    minute = int(time.time()) // 60
    durations = [int(rng.lognormvariate(math.log(20 * MS), 1.0)) for _ in range(20_000)]
    for start in range(0, len(durations), 2_000):  # ten flushes, merged in the row
        store.write({("GET /x/", "request", "web", minute): entry(durations[start:start + 2_000])})
    exact = sorted(durations)
    feature = Feature.objects.get(name="GET /x/")
    now = int(time.time())
    window = Window("custom", now - now % HOUR, now - now % HOUR + HOUR, MINUTE, "",
                    open_end=True)
    found = queries.percentiles_by_feature(window, [feature.pk], {})[feature.pk]
    for q, estimate in zip(queries.PERCENTILES, found, strict=True):
        truth_us = exact[max(1, math.ceil(q * len(exact))) - 1] / 1000
        assert estimate is not None
        assert abs(estimate - truth_us) / truth_us <= 0.02, (q, estimate, truth_us)


def test_days_and_weeks_are_built_from_the_hours_and_late_writes_reach_them() -> None:
    now = int(time.time())
    today = now - now % DAY
    StatsCompacted.objects.filter(resolution=DAY).update(through=today - 3 * DAY)  # built before
    two_days_ago = today - 2 * DAY
    for hour in range(24):
        store.write({("t", "task", "w", (two_days_ago + hour * HOUR) // 60): entry([MS] * 3)})
    assert not FeatureStats.objects.filter(resolution=DAY, bucket_start=two_days_ago).exists()
    compaction.compact("default", now=now)
    day = FeatureStats.objects.get(resolution=DAY, bucket_start=two_days_ago)
    assert day.calls == 72 and sum(histogram.unpack(day.latency).values()) == 72
    assert StatsCompacted.objects.get(resolution=DAY).through == today
    # A backlog written after the build adds to the built day too.
    store.write({("t", "task", "w", (two_days_ago + 5 * HOUR) // 60): entry([MS] * 2)})
    day.refresh_from_db()
    hours = FeatureStats.objects.filter(resolution=HOUR, bucket_start__gte=two_days_ago,
                                        bucket_start__lt=two_days_ago + DAY)
    assert day.calls == hours.aggregate(n=Sum("calls"))["n"] == 74
    week_through = StatsCompacted.objects.get(resolution=WEEK).through
    assert week_through <= today and week_through % WEEK == 0


def test_the_page_totals_read_days_where_built_and_hours_after() -> None:
    now = int(time.time())
    today = now - now % DAY
    StatsCompacted.objects.filter(resolution=DAY).update(through=today - 3 * DAY)
    for days_ago in (5, 2, 0):  # built day, a day not built yet, today
        store.write({("GET /t/", "request", "web", (today - days_ago * DAY + 60) // 60):
                     entry([MS] * (days_ago + 1))})
    window = Window("7d", today - 6 * DAY, today + DAY, DAY, "", open_end=True)
    (row,) = queries.feature_table(window, kind="all", scope="all")
    assert row["calls"] == 6 + 3 + 1
    points = dict((t, c) for t, c, _ in queries.totals_over_time(window))
    assert (points[today - 5 * DAY], points[today - 2 * DAY], points[today]) == (6, 3, 1)


def test_a_version_s_life_row_holds_its_built_days_and_the_releases_page_reads_it() -> None:
    from io import StringIO

    from django.core.management import call_command

    from django_tracekit.pages.releases import compare

    now = int(time.time())
    today = now - now % DAY
    StatsCompacted.objects.filter(resolution=DAY).update(through=today - 3 * DAY)
    for days_ago, version in ((3, "1.0"), (2, "1.0"), (1, "2.0"), (0, "2.0")):
        store.write({("GET /v/", "request", "web", (today - days_ago * DAY + 60) // 60):
                     entry([MS * (days_ago + 1)] * 4, version)})
    compaction.compact("default", now=now)
    life = {v: (c, sum(histogram.unpack(data).values())) for v, c, data in
            FeatureStats.objects.filter(resolution=0).values_list("version", "calls", "latency")}
    assert life == {"1.0": (8, 8), "2.0": (4, 4)}  # today's 2.0 calls are not in a built day
    # A late write to a built day reaches its version's life row too.
    store.write({("GET /v/", "request", "web", (today - 2 * DAY + 120) // 60):
                 entry([MS] * 2, "1.0")})
    assert FeatureStats.objects.get(resolution=0, version="1.0").calls == 10
    changed = compare.compare("1.0", "2.0", kinds=None)["changed"]
    assert [(r["before"]["calls"], r["after"]["calls"]) for r in changed] == [(10, 8)]
    # Pruning 1.0's days builds its life row again from what is left (2.0's yesterday
    # stays or goes with the hour of the day: its life row says what its days say).
    call_command("tracekit_prune", "--days", "0.5", "--no-analyze", stdout=StringIO())
    assert not FeatureStats.objects.filter(resolution=0, version="1.0").exists()
    # (Built days: today's row, holding its closed hours, is in no life row yet.)
    built = StatsCompacted.objects.get(resolution=DAY).through
    days_left = FeatureStats.objects.filter(resolution=DAY, version="2.0",
                                            bucket_start__lt=built).aggregate(
        n=Sum("calls"))["n"]
    life_left = FeatureStats.objects.filter(resolution=0, version="2.0").aggregate(
        n=Sum("calls"))["n"]
    assert life_left == days_left


def test_today_s_row_holds_its_closed_hours_late_writes_too_and_ranges_read_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from django_tracekit.pages.shared import usage_rows

    # The test's clock only: no merge or build at the real time from the writes.
    for module in (compaction, merging):
        monkeypatch.setitem(module._next_check, "default", math.inf)
    day = int(time.time()) // DAY * DAY - 2 * DAY  # "today" of the test, in the past
    now = day + 5 * HOUR + 30 * MINUTE
    # Days before it built, none of its minutes merged yet.
    StatsCompacted.objects.filter(resolution__in=(MINUTE, DAY)).update(through=day)
    StatsCompacted.objects.filter(resolution=WEEK).update(through=day - day % WEEK)
    for hour in range(6):
        store.write({("GET /o/", "request", "web", (day + hour * HOUR + 60) // 60):
                     entry([MS] * 2, "1.0")})
    merging.merge("default", now=now)
    compaction.compact("default", now=now)
    today = FeatureStats.objects.filter(resolution=DAY, bucket_start=day).values_list("calls")
    assert list(today.all()) == [(10,)]  # its closed hours (0 to 4)
    assert not FeatureStats.objects.filter(resolution=0).exists()  # in no life row yet
    # A late write to a closed hour reaches today's row too.
    store.write({("GET /o/", "request", "web", (day + 2 * HOUR + 120) // 60):
                 entry([MS], "1.0")})
    assert list(today.all()) == [(11,)]
    window = Window("custom", day - HOUR, day + 6 * HOUR, HOUR, "")
    assert (DAY, day, day + DAY) in usage_rows.stats_cover(
        window.start, window.end, window.resolution, window.open_end)
    (row,) = queries.feature_table(window, kind="all", scope="all", percentiles=True)
    assert row["calls"] == 13 and row["p50"] is not None
    totals, hists = usage_rows.totals_and_latency(window)
    assert totals[row["id"]][0] == sum(hists[row["id"]].counts) == 13
    points = dict((t, c) for t, c, _ in queries.totals_over_time(window))
    assert [points[day + h * HOUR] for h in range(6)] == [2, 2, 3, 2, 2, 2]
    # The day closes: built again whole, and its version's life row takes it.
    merging.merge("default", now=day + DAY + HOUR)
    compaction.compact("default", now=day + DAY + HOUR)
    assert list(today.all()) == [(13,)]
    assert FeatureStats.objects.get(resolution=0, version="1.0").calls == 13
