"""The usage aggregates read the coarsest rows, and give what the finest rows give."""

from __future__ import annotations

import time
from collections import defaultdict

import pytest
from django.db.models import Max, Sum

from django_tracekit.core.histogram import add, bucket_index, pack, quantiles, unpack
from django_tracekit.destinations.stats import store
from django_tracekit.models import DAY, HOUR
from django_tracekit.pages.shared.feature_filter import ALL
from django_tracekit.pages.shared.window import RANGES, window_from
from django_tracekit.pages.usage import table as queries
from django_tracekit.storage.usage_models import (
    MINUTE,
    WEEK,
    FeatureStats,
    StatsCompacted,
    split_hours,
)

pytestmark = pytest.mark.django_db


def _seed(now: int) -> None:
    """Two features, calls spread over the last 9 days (every 37 minutes: every edge case of
    hour and day boundaries), written as the pipeline writes them (all resolutions)."""
    store.clear_cache()
    increments = {}
    for k, minute in enumerate(range(now // 60 - 9 * 24 * 60, now // 60 + 1, 37)):
        for f, name in enumerate(("shop/a", "shop/b")):
            calls = 1 + (k + f) % 5
            increments[(name, "function", "web", minute)] = [
                calls, k % 2, calls * 1000 * (1 + k % 7), 1000 * (1 + k % 7),
                {30 + k % 9: calls}]
    store.write(increments)


def _expected(window_key: str, now: int) -> dict[int, tuple[int, int, list[float | None]]]:
    """Calls, errors and percentiles from the rows at the window's own resolution."""
    window = window_from({"range": window_key}, now=now)
    # The window's own rows; for a day window today's hours (a day is built when it
    # closes); hours hold the minutes merged so far, the later ones are minute rows.
    spans = [(window.resolution, window.start, window.end)]
    if window.resolution == DAY:
        today = now - now % DAY
        spans = [(DAY, window.start, today), (HOUR, today, window.end)]
    mark = StatsCompacted.objects.filter(resolution=MINUTE).values_list(
        "through", flat=True).first() or 0
    usage = FeatureStats.objects.none()
    for resolution, first, last in split_hours(spans, mark):
        usage = usage | FeatureStats.objects.filter(resolution=resolution,
                                                    bucket_start__gte=first,
                                                    bucket_start__lt=last)
    hist: dict[int, dict[int, int]] = defaultdict(dict)
    for fid, data in usage.values_list("feature_id", "latency"):
        add(hist[fid], unpack(data))
    out = {}
    for fid, c, e, m in usage.values("feature_id").annotate(
            c=Sum("calls"), e=Sum("errors"), m=Max("duration_max_us")).values_list(
            "feature_id", "c", "e", "m"):
        out[fid] = (c, e, quantiles(hist[fid], queries.PERCENTILES, m))
    return out


@pytest.mark.parametrize("window_key", list(RANGES))
def test_totals_and_percentiles_match_the_finest_rows(window_key: str) -> None:
    now = int(time.time())
    _seed(now)
    window = window_from({"range": window_key}, now=now)
    rows = queries.feature_table(window, kind=ALL, sort="-p95")
    assert {r["id"]: (r["calls"], r["errors"], [r["p50"], r["p95"], r["p99"]])
            for r in rows if r["calls"]} == _expected(window_key, now)
    # ...while reading the coarsest rows (the current hour/day/week whole: nothing is
    # stored later).
    coarsest = max(r for r, _, _ in window.cover())
    # An open end may read a whole bucket that starts inside the window: in the first hour
    # of a day (or a week) the last hour's window ends in today's (this week's) bucket.
    open_bucket = max(r for r in (HOUR, DAY, WEEK)
                      if -(-window.start // r) * r < -(-window.end // r) * r)
    assert coarsest == {"1h": open_bucket, "30d": WEEK, "90d": WEEK}.get(window_key, coarsest)
    assert coarsest >= (HOUR if window_key == "1h" else DAY)


@pytest.mark.parametrize("window_key", ["24h", "7d", "90d"])
def test_the_one_pass_read_gives_what_the_grouped_query_gives(window_key: str) -> None:
    # A percentile sort (and the CSV) reads counters and histograms in one pass; any
    # other sort sums in SQL and reads the histograms of the rows shown.
    now = int(time.time())
    _seed(now)
    window = window_from({"range": window_key}, now=now)
    one_pass = queries.feature_table(window, kind=ALL, sort="feature", percentiles=True)
    grouped = queries.feature_table(window, kind=ALL, sort="feature")
    queries.fill_percentiles(window, grouped)
    assert one_pass == grouped and any(r["p95"] for r in one_pass)


def test_several_rows_of_one_feature_and_bucket_are_added_up() -> None:
    # Versions (and, with a per-process write path, processes) keep rows of their own for
    # one feature and hour: every read adds them up.
    now = int(time.time())
    hour = now - now % HOUR
    _seed(now)
    fid = FeatureStats.objects.values_list("feature_id", flat=True).first()
    for n, version in enumerate(("9.1", "9.2", "9.3")):
        FeatureStats.objects.create(feature_id=fid, resolution=HOUR, bucket_start=hour,
                                    version=version, calls=100, errors=n,
                                    duration_sum_us=100 * 50_000, duration_max_us=90_000 + n,
                                    latency=pack({bucket_index(50_000_000): 100}))
    window = window_from({"range": "24h"}, now=now)
    for sort in ("-p95", "-calls"):
        (row,) = [r for r in queries.feature_table(window, kind=ALL, sort=sort)
                  if r["id"] == fid]
        queries.fill_percentiles(window, [row])
        expected = _expected("24h", now)[fid]
        assert (row["calls"], row["errors"], [row["p50"], row["p95"], row["p99"]]) == expected
        assert row["max_us"] == 90_002 and row["p99"] is not None and row["p99"] > 40_000
