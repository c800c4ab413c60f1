"""Migration 0012 (flushes write minute rows only; the merge adds each merged minute to its
hour's row), on SQLite, PostgreSQL and MariaDB: an hour whose rows held every minute is
read with the same totals after it, back and forth, and after the merge; a late write to a
merged minute reaches its hour too."""

from __future__ import annotations

import json
from typing import Any

from tests.support.race import every_database_fixture, race_settings
from tests.support.scripts import finish, start_django

SCRIPT = """
import time
from django.db.models import Sum
from tests.support.migrations import migrate_to

HOUR = 3600
now = int(time.time())
H = now - now % HOUR - 2 * HOUR  # an hour that closed: minutes H..H+44 written
MARK = H + 30 * 60  # minutes before it merged (writer 0), the rest a process's (writer 5)

old = migrate_to([("django_tracekit", "0011_drop_prefix_indexes")])
feature = old.get_model("django_tracekit", "Feature").objects.create(
    name="GET /orders/", kind="request", service="web")
stats = old.get_model("django_tracekit", "FeatureStats").objects
for m in range(45):
    bucket = H + 60 * m
    stats.create(feature=feature, resolution=60, bucket_start=bucket, calls=1,
                 duration_max_us=m, writer=0 if bucket < MARK else 5)
# Before 0012 every flush added to its hour row too: the process's hour row holds all 45.
stats.create(feature=feature, resolution=3600, bucket_start=H, calls=45, duration_max_us=44,
             writer=5)
stats.create(feature=feature, resolution=3600, bucket_start=H - HOUR, calls=100)
marks = old.get_model("django_tracekit", "StatsCompacted").objects
marks.update_or_create(resolution=60, defaults={"through": MARK})
marks.update_or_create(resolution=3600, defaults={"through": H})


def read():
    # What every page reads: the spans of the two hours, hours split at the minute mark.
    from django_tracekit.pages.shared.usage_rows import stats_cover
    from django_tracekit.storage.usage_models import FeatureStats

    spans = stats_cover(H - HOUR, H + HOUR, HOUR, False)
    total, high = 0, 0
    for resolution, first, last in spans:
        rows = FeatureStats.objects.filter(resolution=resolution, bucket_start__gte=first,
                                           bucket_start__lt=last)
        total += rows.aggregate(n=Sum("calls"))["n"] or 0
        high = max([high, *rows.values_list("duration_max_us", flat=True)])
    return [total, high]


def hour_rows(apps):
    rows = apps.get_model("django_tracekit", "FeatureStats").objects.filter(
        resolution=3600, bucket_start=H)
    return [rows.count(), rows.aggregate(n=Sum("calls"))["n"] or 0]


def mark(apps, resolution):
    return apps.get_model("django_tracekit", "StatsCompacted").objects.get(
        resolution=resolution).through


new = migrate_to()
result = {"forward": {"read": read(), "hour": hour_rows(new), "mark": mark(new, 60) - H,
                      "minutes": new.get_model("django_tracekit", "FeatureStats").objects
                      .filter(resolution=60).count()}}
back = migrate_to([("django_tracekit", "0011_drop_prefix_indexes")])
result["backward"] = {"hour": hour_rows(back), "hour_mark": mark(back, 3600) - H,
                      "minutes": back.get_model("django_tracekit", "FeatureStats").objects
                      .filter(resolution=60).count()}
new = migrate_to()
result["again"] = {"read": read()}

from django_tracekit.destinations.stats import merging, store

merging.merge("default", now=H + HOUR + merging.MERGE_AFTER + 1)
result["merged"] = {"read": read(), "hour": hour_rows(new), "mark": mark(new, 60) - H}
# A late write to a merged minute: its minute and its hour (under their locks).
store.write({("GET /orders/", "request", "web", H // 60 + 10): [
    1, 0, 1_000, 1_000, {}, 0, None, "", 0, 0, 0]})
result["late"] = {"read": read(), "hour": hour_rows(new)}
print(json.dumps(result))
"""


database = every_database_fixture("tracekit_0012")


def test_hours_read_the_same_back_and_forth_and_after_the_merge(
        database: tuple[str, str]) -> None:
    vendor, name = database
    out = finish(start_django("import json\n" + SCRIPT, race_settings(vendor, name)))
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])

    # Forward: the hour's rows go (the merge builds them again from its minutes), the
    # minute mark goes back to the hour's start; what a page reads is unchanged.
    assert result["forward"] == {"read": [145, 44], "hour": [0, 0], "mark": 0,
                                 "minutes": 45}
    # Backward: the hour holds every minute again (one row per minute row, summed).
    assert result["backward"] == {"hour": [45, 45], "hour_mark": 0, "minutes": 45}
    assert result["again"] == {"read": [145, 44]}
    # The merge: one row per minute, each added to the hour's one row.
    assert result["merged"] == {"read": [145, 44], "hour": [1, 45], "mark": 3600}
    assert result["late"] == {"read": [146, 44], "hour": [1, 46]}
