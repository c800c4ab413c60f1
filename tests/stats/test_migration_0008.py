"""Migration 0008 carries the old stats tables over into ``tracekit_stats``: counts exact,
versions split out of the feature's row, latency at its old bucket's value, users kept,
and each version's life row built from its days before today."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from django_tracekit.core import histogram, sketch
from django_tracekit.core.sketch import Users, hash_user
from tests.support.migrations import apps_before, migrate_to

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("django_tracekit", "0007_task_edges")]
AFTER = [("django_tracekit", "0008_feature_stats")]


@pytest.fixture
def old_apps() -> Iterator[Any]:
    yield from apps_before(BEFORE)


def migrate_to_0008() -> Any:
    return migrate_to(AFTER)


def test_old_rows_become_feature_stats_rows_with_exact_counts(old_apps: Any) -> None:
    model = old_apps.get_model
    feature = model("django_tracekit", "Feature").objects.create(
        name="GET /orders/", kind="request", service="web")
    now = int(time.time())
    today = now - now % 86400
    yesterday = today - 86400
    hour = now - now % 3600
    usage = model("django_tracekit", "UsageBucket").objects
    usage.create(feature=feature, resolution=60, bucket_start=hour, calls=7, errors=2,
                 duration_sum_us=700, duration_max_us=300, n_plus_one=1, retries=3)
    usage.create(feature=feature, resolution=3600, bucket_start=hour, calls=7, errors=2,
                 duration_sum_us=700, duration_max_us=300, n_plus_one=1, retries=3)
    usage.create(feature=feature, resolution=86400, bucket_start=yesterday, calls=50,
                 errors=5, duration_sum_us=5000, duration_max_us=900)
    latency = model("django_tracekit", "LatencyBucket").objects
    latency.create(feature=feature, resolution=60, bucket_start=hour, bin=40, n=7)
    latency.create(feature=feature, resolution=86400, bucket_start=yesterday, bin=44, n=50)
    # 30 of yesterday's 50 calls ran under 2.0, with their own latency.
    model("django_tracekit", "VersionUsage").objects.create(
        feature=feature, version="2.0", resolution=86400, bucket_start=yesterday, calls=30,
        errors=4, duration_sum_us=3000, duration_max_us=900)
    model("django_tracekit", "VersionLatency").objects.create(
        feature=feature, version="2.0", resolution=86400, bucket_start=yesterday, bin=44, n=30)
    users = Users()
    for name in ("ann", "bob", "cy"):
        users.add(hash_user(name))
    model("django_tracekit", "UserSketch").objects.create(
        feature=feature, resolution=60, bucket_start=hour, version="", sketch=users.dumps())

    new_apps = migrate_to_0008()
    stats = new_apps.get_model("django_tracekit", "FeatureStats").objects
    minute = stats.get(resolution=60, bucket_start=hour, version="")
    assert (minute.calls, minute.errors, minute.duration_sum_us, minute.duration_max_us,
            minute.n_plus_one, minute.retries) == (7, 2, 700, 300, 1, 3)
    assert sketch.merge([bytes(minute.users)]).estimate() == 3
    # The old bucket's count at its representative value, in today's scheme.
    old_value_ns = int(2 * 2 ** (41 / 4) / (2 ** 0.25 + 1) * 1000)
    assert histogram.unpack(minute.latency) == {histogram.bucket_index(old_value_ns): 7}
    assert stats.get(resolution=3600, bucket_start=hour).calls == 7
    rest = stats.get(resolution=86400, bucket_start=yesterday, version="")
    versioned = stats.get(resolution=86400, bucket_start=yesterday, version="2.0")
    assert (rest.calls, rest.errors, rest.duration_sum_us) == (20, 1, 2000)
    assert (versioned.calls, versioned.errors, versioned.duration_sum_us) == (30, 4, 3000)
    assert sum(histogram.unpack(rest.latency).values()) == 20
    assert sum(histogram.unpack(versioned.latency).values()) == 30
    # Every call once: the day's rows add up to the old day row.
    assert sum(stats.filter(resolution=86400).values_list("calls", flat=True)) == 50
    life = stats.get(resolution=0, version="2.0")
    assert (life.calls, life.errors, histogram.unpack(life.latency)) == (
        30, 4, histogram.unpack(versioned.latency))
    marks = dict(new_apps.get_model("django_tracekit", "StatsCompacted").objects.values_list(
        "resolution", "through"))
    assert marks[86400] == today


@pytest.mark.parametrize("kind,counters", [
    ("request", {"n_plus_one": 2}),  # the styleguide trial's POST /admin/emails/email/
    ("task", {"failed_attempts": 4, "retried_tasks": 1}),
])
def test_counters_without_version_rows_stay_when_every_call_moved_to_a_version(
        old_apps: Any, kind: str, counters: dict[str, int]) -> None:
    """An hour whose calls all ran under one version kept its N+1 and task counters only in
    the unversioned row (version rows have none): the upgrade must not drop them."""
    model = old_apps.get_model
    feature = model("django_tracekit", "Feature").objects.create(
        name="shop/send", kind=kind, service="web")
    now = int(time.time())
    hour = now - now % 3600
    model("django_tracekit", "UsageBucket").objects.create(
        feature=feature, resolution=3600, bucket_start=hour, calls=4, errors=1,
        duration_sum_us=400, duration_max_us=200, **counters)
    model("django_tracekit", "VersionUsage").objects.create(
        feature=feature, version="1e01", resolution=3600, bucket_start=hour, calls=4,
        errors=1, duration_sum_us=400, duration_max_us=200)

    stats = migrate_to_0008().get_model("django_tracekit", "FeatureStats").objects
    rows = stats.filter(resolution=3600, bucket_start=hour)
    assert sum(r.calls for r in rows) == 4 and sum(r.errors for r in rows) == 1
    assert {name: sum(getattr(r, name) for r in rows) for name in counters} == counters
