"""Today's day row (``OPEN_DAY``) on SQLite, PostgreSQL and MariaDB: compaction adds the
closed, merged hours to it, a late write before the mark reaches it, a range reads it with
the hours' totals, and the day's close builds it again whole (its life row then)."""

from __future__ import annotations

import json
from typing import Any

from tests.support.race import every_database_fixture, race_settings
from tests.support.scripts import finish, start_django

SCRIPT = """
import math
import time
from django.db.models import Max, Sum
from tests.support.migrations import migrate_to

migrate_to()
from django_tracekit.destinations.stats import compaction, merging, store
from django_tracekit.pages.shared.usage_rows import stats_cover
from django_tracekit.storage.usage_models import FeatureStats, StatsCompacted

MINUTE, HOUR, DAY, WEEK = 60, 3600, 86400, 7 * 86400
for module in (compaction, merging):  # the script's clock only, not the writes' real one
    module._next_check["default"] = math.inf
D = int(time.time()) // DAY * DAY - 2 * DAY  # the script's "today", in the past
for resolution, through in ((MINUTE, D), (DAY, D), (WEEK, D - D % WEEK)):
    StatsCompacted.objects.update_or_create(resolution=resolution,
                                            defaults={"through": through})


def write(start, calls, duration_us):
    store.write({("GET /o/", "request", "web", start // 60): [
        calls, 0, calls * duration_us * 1000, duration_us * 1000, {}, 0, None, "1.0",
        0, 0, 0]})


def read(start, end):
    # What the tables read: the spans of a range, summed (calls and maximum).
    spans = stats_cover(start, end, HOUR, False)
    total, high = 0, 0
    for resolution, first, last in spans:
        rows = FeatureStats.objects.filter(resolution=resolution, bucket_start__gte=first,
                                           bucket_start__lt=last)
        found = rows.aggregate(n=Sum("calls"), m=Max("duration_max_us"))
        total, high = total + (found["n"] or 0), max(high, found["m"] or 0)
    return [total, high, [DAY, D, D + DAY] in [list(s) for s in spans]]


def today():
    return list(FeatureStats.objects.filter(resolution=DAY, bucket_start=D).values_list(
        "calls", "duration_max_us"))


for hour in range(6):
    write(D + hour * HOUR + 60, 2, 100 + hour)
now = D + 5 * HOUR + 30 * MINUTE
merging.merge("default", now=now)
compaction.compact("default", now=now)
result = {"open": {"row": today(), "mark": StatsCompacted.objects.get(resolution=1).through - D,
                   "life": FeatureStats.objects.filter(resolution=0).count(),
                   "read": read(D - HOUR, D + 6 * HOUR)}}
write(D + 2 * HOUR + 120, 1, 900)  # late: a merged minute of a closed hour
result["late"] = {"row": today(), "read": read(D - HOUR, D + 6 * HOUR)}
merging.merge("default", now=D + DAY + HOUR)
compaction.compact("default", now=D + DAY + HOUR)
result["closed"] = {"row": today(), "life": list(FeatureStats.objects.filter(
    resolution=0).values_list("calls", flat=True)), "read": read(D - HOUR, D + 6 * HOUR)}
print(json.dumps(result))
"""


database = every_database_fixture("tracekit_open_day")


def test_today_s_row_holds_its_closed_hours_on_every_database(
        database: tuple[str, str]) -> None:
    vendor, name = database
    out = finish(start_django("import json\n" + SCRIPT, race_settings(vendor, name)))
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])

    # Hours 0-4 closed and merged (the minute mark is in hour 5): in today's row, in no
    # life row; a range over them reads the row and the hour after it.
    assert result["open"] == {"row": [[10, 104]], "mark": 5 * 3600, "life": 0,
                              "read": [12, 105, True]}
    # A late write to hour 2 reaches today's row (and its hour) under the share lock.
    assert result["late"] == {"row": [[11, 900]], "read": [13, 900, True]}
    # The day closed: built again whole from its hours, and its version's life row.
    assert result["closed"] == {"row": [[13, 900]], "life": [13], "read": [13, 900, False]}
