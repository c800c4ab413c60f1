"""The upsert adds (never overwrites), rolls up, merges histograms; the fallback agrees."""

from __future__ import annotations

import io
import time

import pytest
from django.core.management import call_command
from django.db.models import Sum

from django_tracekit.core import histogram
from django_tracekit.core.histogram import bucket_index
from django_tracekit.destinations.stats import store
from django_tracekit.destinations.stats.records import ErrorSample as Sample
from django_tracekit.models import DAY, HOUR, MINUTE, Feature
from django_tracekit.storage.usage_models import FeatureStats
from tests.support.scripts import check, run_django

pytestmark = pytest.mark.django_db

MS = 1_000_000


def increments(minute: int, calls: int, durations_ms: tuple[int, ...] = (5,)) -> dict:
    hist: dict[int, int] = {}
    for d in durations_ms:
        hist[bucket_index(d * MS)] = hist.get(bucket_index(d * MS), 0) + calls
    total = calls * sum(durations_ms)
    return {("shop/a", "function", "web", minute): [calls * len(durations_ms), 1,
                                                   total * MS, max(durations_ms) * MS, hist]}


def usage(resolution: int) -> list[tuple[int, int, int, int, int]]:
    return list(FeatureStats.objects.filter(resolution=resolution).order_by("bucket_start")
                .values_list("bucket_start", "calls", "errors", "duration_sum_us",
                             "duration_max_us"))


@pytest.mark.parametrize("method", ["auto", "orm"])
def test_writes_add_and_roll_up(method: str) -> None:
    m = 29_000_040  # two minutes in the same hour and day
    store.write(increments(m, 2, (5, 30)), method=method)
    store.write(increments(m, 1, (7,)), method=method)
    store.write(increments(m + 1, 3), method=method)
    assert Feature.objects.count() == 1
    assert usage(MINUTE) == [(m * 60, 5, 2, 77_000, 30_000), ((m + 1) * 60, 3, 1, 15_000, 5_000)]
    hour = m * 60 - m * 60 % HOUR
    day = m * 60 - m * 60 % DAY
    assert usage(HOUR) == [(hour, 8, 3, 92_000, 30_000)]
    assert usage(DAY) == [(day, 8, 3, 92_000, 30_000)]
    hist = histogram.unpack(FeatureStats.objects.get(resolution=DAY).latency)
    assert hist == {bucket_index(5 * MS): 5, bucket_index(30 * MS): 2, bucket_index(7 * MS): 1}


def test_duplicate_keys_are_summed_before_the_statement() -> None:
    # Two names that clip to the same 255 characters are one row: one statement may not
    # touch a row twice (PostgreSQL refuses), so they are summed first.
    long = "x" * 300
    incs = {(long + "a", "function", "web", 29_000_000): [1, 0, MS, MS, {39: 1}],
            (long + "b", "function", "web", 29_000_000): [2, 0, 2 * MS, MS, {39: 2}]}
    store.write(incs)
    assert usage(MINUTE) == [(29_000_000 * 60, 3, 0, 3_000, 1_000)]
    assert histogram.unpack(FeatureStats.objects.get(resolution=MINUTE).latency) == {39: 3}


def test_error_samples_are_not_stored() -> None:
    """No page reads single samples (the errors page reads the error groups): a flush with
    samples writes its counters and no sample, and a sample no column holds costs nothing."""
    minute = int(time.time()) // 60
    kept = Sample("shop/a", "function", "web", time.time_ns(), "ValueError", "kept",
                  "", "", "", "")
    bogus = Sample("shop/b", "function", "web", 2 ** 80, "ValueError", "bogus time",
                   "", "", "", "")
    before = dict(store.rejected)
    store.write(increments(minute, 2), [kept, bogus])
    assert usage(MINUTE) == [(minute * 60, 2, 1, 10_000, 5_000)]
    assert not Feature.objects.filter(name="shop/b").exists()
    assert dict(store.rejected) == before


def test_prune_applies_retention_per_resolution() -> None:
    from django_tracekit.storage.usage_models import WEEK

    now_minute = int(time.time()) // 60
    store.write(increments(now_minute, 1))  # recent: stays at every resolution
    store.write(increments(now_minute - 3 * 24 * 60, 1))  # 3 days old: minute rows go
    store.write(increments(now_minute - 100 * 24 * 60, 1))  # 100 days: hour and day go too
    call_command("tracekit_prune", "--days", "90", stdout=io.StringIO())
    # Today's day and week rows are built when the day closes (stats/compaction.py); the
    # older writes reached their day (and week) rows at once. The current minute is in no
    # hour row until the merge adds it (2 minutes after it ends): the 3-day-old hour only.
    stats = FeatureStats.objects
    assert stats.filter(resolution=MINUTE).count() == 1
    assert stats.filter(resolution=HOUR).count() == 1
    assert stats.filter(resolution=DAY).count() == 1
    assert stats.exclude(resolution=WEEK).aggregate(n=Sum("calls"))["n"] == 3
    assert (stats.filter(resolution=WEEK).aggregate(n=Sum("calls"))["n"] or 0) <= 1
    assert Feature.objects.count() == 1
    call_command("tracekit_prune", "--days", "0.0001", "--minute-hours", "0.0001",
                 stdout=io.StringIO())
    # Only buckets still overlapping the last few seconds survive: the current ones; and
    # a minute not merged into its hour yet stays, whatever --minute-hours says.
    assert stats.filter(resolution=DAY).count() == 0
    assert stats.filter(resolution=HOUR).count() == 0
    assert list(stats.values_list("resolution", "bucket_start")) == [(MINUTE, now_minute * 60)]


def test_prune_applies_retention_to_users_versions_and_instrumented_functions() -> None:
    from django_tracekit.core.sketch import Users, hash_user
    from django_tracekit.storage.usage_models import WEEK, InstrumentedFunction

    now_minute = int(time.time()) // 60
    users = Users()
    users.add(hash_user("1"))
    for age_days in (0, 3, 100):
        store.write({("GET /x/", "request", "web", now_minute - age_days * 24 * 60):
                     [1, 0, 1000, 1000, {10: 1}, 0, users, "1.0"]})
    store.record_instrumented("web", [("shop/f", "shop")], now=int(time.time()))
    store.record_instrumented("web", [("shop/old", "shop")], now=int(time.time()) - 200 * 86400)
    out = io.StringIO()
    call_command("tracekit_prune", "--days", "90", stdout=out)
    assert "ANALYZE" in out.getvalue()
    with_users = FeatureStats.objects.exclude(users=b"")
    assert with_users.filter(resolution=MINUTE).count() == 1
    assert with_users.filter(resolution=HOUR).count() == 1  # the current minute: not yet
    assert with_users.filter(resolution=DAY).count() == 1
    assert with_users.filter(resolution=WEEK).count() in (0, 1)  # 3 days ago: this week?
    assert FeatureStats.objects.filter(version="1.0", resolution=HOUR).count() == 1
    assert FeatureStats.objects.filter(version="1.0", resolution=DAY).count() == 1
    assert list(InstrumentedFunction.objects.values_list("name", flat=True)) == ["shop/f"]


BOX = "\U0001f4e6"  # 4 bytes in UTF-8


@pytest.mark.parametrize(("value", "max_chars", "max_bytes", "expected"), [
    ("plain", 10, None, "plain"),
    ("a\x00b", 10, None, "ab"),
    ("a\ud800b\udfff", 10, None, "a\ufffdb\ufffd"),
    (BOX * 5, 3, None, BOX * 3),
    (BOX * 5, 10, 9, BOX * 2),  # cut on a character boundary
    ("\u00e9" * 10, 10, 5, "\u00e9\u00e9"),
])
def test_clean_text_stores_on_every_backend(value: str, max_chars: int, max_bytes: int | None,
                                            expected: str) -> None:
    assert store.clean_text(value, max_chars, max_bytes) == expected


def test_clean_text_for_a_utf8mb3_connection_replaces_4_byte_characters() -> None:
    assert store.clean_text(f"box {BOX}\u00e9\x00", 10, bmp_only=True) == "box \ufffd\u00e9"


def test_missing_tables_are_looked_for_once_per_interval() -> None:
    result = check(run_django("""
        from django.db import connection
        from django_tracekit.destinations.stats import store
        queries = []
        def counting(execute, sql, params, many, context):
            queries.append(sql)
            return execute(sql, params, many, context)
        with connection.execute_wrapper(counting):
            for _ in range(5):
                try:
                    store.write({("a", "function", "web", 1): [1, 0, 1, 1, {0: 1}]})
                except store.TablesMissing as exc:
                    print("missing:", exc)
        print("queries:", len(queries))
    """, {}))
    assert result.stdout.count("missing: its tables are not in database 'default' yet") == 5
    assert "queries: 1" in result.stdout  # one look at the schema, then the remembered answer
