"""The usage aggregates read the coarsest rows, and give what the finest rows give."""

from __future__ import annotations

import time
from collections import defaultdict

import pytest
from django.db.models import Max, Sum

from django_tracekit.core.histogram import add, quantiles, unpack
from django_tracekit.destinations.stats import store
from django_tracekit.models import DAY, HOUR
from django_tracekit.pages.shared.feature_filter import ALL
from django_tracekit.pages.shared.window import RANGES, window_from
from django_tracekit.pages.usage import table as queries
from django_tracekit.storage.usage_models import WEEK, FeatureStats

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
    # The window's own rows; for a day window today's hours (a day is built when it closes).
    usage = FeatureStats.objects.filter(resolution=window.resolution,
                                        bucket_start__gte=window.start,
                                        bucket_start__lt=window.end)
    if window.resolution == DAY:
        today = now - now % DAY
        usage = usage.filter(bucket_start__lt=today) | FeatureStats.objects.filter(
            resolution=HOUR, bucket_start__gte=today, bucket_start__lt=window.end)
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
    assert coarsest == {"1h": HOUR, "30d": WEEK, "90d": WEEK}.get(window_key, coarsest)
    assert coarsest >= (HOUR if window_key == "1h" else DAY)
