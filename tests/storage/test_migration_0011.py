"""Migration 0011 drops the single-column foreign-key indexes another index starts with, on
SQLite, PostgreSQL and MariaDB: the longer index stays, so does the foreign key (a cascade
still deletes), rows are untouched, and reversed the indexes come back."""

from __future__ import annotations

import json
from typing import Any

from tests.support.race import every_database_fixture, race_settings
from tests.support.scripts import finish, start_django

# (table, foreign key column, the index that starts with it and stays)
PREFIXED = [
    ("tracekit_trace_span", "trace_id", ["trace_id", "span_id"]),
    ("tracekit_task_edge", "producer_id", ["producer_id", "task_id", "resolution",
                                           "bucket_start"]),
    ("tracekit_task_edge", "task_id", ["task_id", "resolution", "bucket_start"]),
    ("tracekit_error_group_bucket", "group_id", ["group_id", "feature_id", "resolution",
                                                 "bucket_start"]),
    ("tracekit_error_group_example", "group_id", ["group_id", "time"]),
]

SCRIPT = """
from django.db import connection
from tests.support.migrations import migrate_to

PREFIXED = json.loads(os.environ["TK_PREFIXED"])

def indexes():
    found = {}
    with connection.cursor() as cursor:
        for table, column, longer in PREFIXED:
            info = connection.introspection.get_constraints(cursor, table)
            found[table + "." + column] = {
                "alone": sorted(n for n, c in info.items() if c["index"] and not c["unique"]
                                and not c["primary_key"] and c["columns"] == [column]),
                "longer": any(c["columns"] == longer for c in info.values()),
                "foreign_key": any(c["foreign_key"] and c["columns"] == [column]
                                   for c in info.values()),
            }
    return found

before = migrate_to([("django_tracekit", "0010_drop_pre_stats_tables")])
feature = before.get_model("django_tracekit", "Feature").objects.create(
    name="GET /orders/", kind="request", service="web")
trace = before.get_model("django_tracekit", "Trace").objects.create(
    trace_id="a" * 32, start_us=1, end_us=2, root_name="GET /orders/", services="web",
    reasons="sample")
for i in range(3):
    before.get_model("django_tracekit", "TraceSpan").objects.create(
        trace=trace, span_id=f"{i:016x}", name="GET /orders/", kind="server", service="web",
        start_us=1, duration_us=1)
group = before.get_model("django_tracekit", "ErrorGroup").objects.create(
    fingerprint="f" * 16, type="ValueError", location="shop/x", first_seen=1, last_seen=1)
before.get_model("django_tracekit", "ErrorGroupBucket").objects.create(
    group=group, feature=feature, resolution=3600, bucket_start=0, count=2)
before.get_model("django_tracekit", "ErrorGroupExample").objects.create(
    group=group, feature=feature, time=1)
before.get_model("django_tracekit", "TaskEdge").objects.create(
    producer=feature, task=feature, resolution=3600, bucket_start=0, calls=1)
at_0010 = indexes()

after = migrate_to()
at_0011 = indexes()
spans = after.get_model("django_tracekit", "TraceSpan").objects
kept = spans.filter(trace__trace_id="a" * 32).count()
buckets = after.get_model("django_tracekit", "ErrorGroupBucket").objects.filter(
    group__fingerprint="f" * 16).count()
after.get_model("django_tracekit", "Trace").objects.filter(trace_id="a" * 32).delete()
left = spans.count()

migrate_to([("django_tracekit", "0010_drop_pre_stats_tables")])
reversed_ = indexes()
migrate_to()
print(json.dumps({"vendor": connection.vendor, "at_0010": at_0010, "at_0011": at_0011,
                  "reversed": reversed_, "again": indexes(), "kept": kept,
                  "buckets": buckets, "left": left}))
"""


database = every_database_fixture("tracekit_0011")


def test_prefix_indexes_dropped_foreign_keys_kept_and_reversible(
        database: tuple[str, str]) -> None:
    vendor, name = database
    out = finish(start_django(SCRIPT, race_settings(vendor, name),
                              env={"TK_PREFIXED": json.dumps(PREFIXED)}))
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])

    for key in (f"{table}.{column}" for table, column, _ in PREFIXED):
        at_0010, at_0011 = result["at_0010"][key], result["at_0011"][key]
        if vendor != "mariadb":  # InnoDB makes (and later drops) its own, or none
            assert len(at_0010["alone"]) == 1, (key, at_0010)
        assert at_0011["alone"] == [], (key, at_0011)
        assert at_0011["longer"], key
        assert at_0011["foreign_key"], (key, at_0011)
        assert len(result["reversed"][key]["alone"]) == 1, (key, result["reversed"][key])
        assert result["again"][key]["alone"] == [], key
    assert (result["kept"], result["buckets"]) == (3, 1)
    assert result["left"] == 0  # the cascade found the spans through the longer index

