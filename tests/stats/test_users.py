"""Distinct users end to end: logged-in requests -> enduser.id -> sketches -> the pages."""

from __future__ import annotations

import csv
import io
import time

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from django_tracekit.core import sketch
from django_tracekit.core.sketch import Users, hash_user
from django_tracekit.destinations.stats import merging, store
from django_tracekit.destinations.stats.processor import StatsProcessor
from django_tracekit.models import Feature
from django_tracekit.storage.usage_models import (
    DAY,
    HOUR,
    MINUTE,
    SKETCH_RESOLUTIONS,
    FeatureStats,
)
from tests.stats.helpers import usage_users
from tests.stats.test_admin import viewer

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.stats.urls")]


def test_distinct_users_per_feature_on_the_pages_and_in_the_csv(
        stats_processor: StatsProcessor) -> None:
    people = [User.objects.create_user(f"person{i}", password="pw") for i in range(4)]
    for person in people:
        client = Client()
        client.force_login(person)
        for _ in range(3):  # returning users count once
            assert client.get("/me/").status_code == 200
    assert Client().get("/me/").status_code == 200  # anonymous: a call, not a user
    assert stats_processor.flush()

    admin = Client()
    admin.force_login(viewer())
    page = admin.get(reverse("admin:tracekit_usage"), {"range": "1h"}).content.decode()
    assert usage_users(page)[("GET /me/", "request")] == 4
    # Sortable by users.
    assert 'href="?range=1h&amp;sort=-users"' in page
    sorted_page = admin.get(reverse("admin:tracekit_usage"),
                            {"range": "1h", "sort": "-users"}).content.decode()
    assert next(iter(usage_users(sorted_page))) == ("GET /me/", "request")

    me = Feature.objects.get(name="GET /me/")
    detail = admin.get(reverse("admin:tracekit_usage_feature", args=[me.pk]),
                       {"range": "1h"}).content.decode()
    assert 'id="tk-users">4<' in detail
    assert "Distinct users over time" in detail and "tk-users" in detail

    export = admin.get(reverse("admin:tracekit_usage"), {"range": "1h", "format": "csv"})
    rows = {r["feature"]: r for r in csv.DictReader(io.StringIO(export.content.decode()))}
    assert rows["GET /me/"]["users"] == "4" and rows["GET /me/"]["calls"] == "13"
    # Stored: the users' hashes (enduser.id = the pk), never the ids or usernames.
    expected = Users()
    for person in people:
        expected.add(hash_user(str(person.pk)))
    # Minute rows are written by the flush, hour rows by the merge once the minute closed
    # (day and week built when they close).
    merging.merge("default", now=time.time() + MINUTE + merging.MERGE_AFTER)
    for resolution in [r for r in SKETCH_RESOLUTIONS if r < DAY]:
        stored = FeatureStats.objects.filter(feature=me, resolution=resolution).values_list(
            "users", flat=True)
        assert sketch.merge(bytes(s) for s in stored).dumps() == expected.dumps()


def test_sketches_merge_across_flushes_and_resolutions() -> None:
    minute = int(time.time()) // 60

    def flush_users(ids: range) -> None:
        users = Users()
        for i in ids:
            users.add(hash_user(f"user{i}"))
        store.write({("GET /x/", "request", "web", minute): [len(ids), 0, 0, 0, {}, 0, users,
                                                            "1.0"]})

    flush_users(range(0, 100))
    flush_users(range(50, 150))  # another process, overlapping users
    flush_users(range(50, 150))  # a retried flush: merging is idempotent
    feature = Feature.objects.get(name="GET /x/")
    from django_tracekit.pages.shared.window import window_from
    from django_tracekit.pages.usage import users as queries

    for key in ("1h", "24h", "7d", "90d"):
        window = window_from({"range": key})
        assert queries.users_by_feature(window, [feature.pk]) == {feature.pk: 150}, key
    over_time = dict(queries.users_over_time(window_from({"range": "1h"}), feature.pk))
    assert over_time[minute * 60] == 150 and sum(over_time.values()) == 150
    # One row per feature, bucket and version for the minute; the hour's once merged.
    assert FeatureStats.objects.filter(feature=feature).count() == 1
    assert FeatureStats.objects.filter(feature=feature, resolution=MINUTE).count() == 1
    merging.merge("default", now=(minute + 1) * 60 + merging.MERGE_AFTER)
    assert FeatureStats.objects.filter(feature=feature, resolution=HOUR).count() == 1
    for key in ("1h", "24h", "7d", "90d"):
        window = window_from({"range": key})
        assert queries.users_by_feature(window, [feature.pk]) == {feature.pk: 150}, key


def test_prune_prebuilds_the_30_and_90_day_users_and_the_pages_read_them() -> None:
    import io

    from django.core.management import call_command

    from django_tracekit.pages.shared.window import window_from
    from django_tracekit.pages.usage import users as queries
    from django_tracekit.storage.usage_models import RangeUsers

    now_minute = int(time.time()) // 60
    for days_ago in range(0, 60, 3):  # other users every third day, some returning
        users = Users()
        for i in range(days_ago * 40, days_ago * 40 + 300):
            users.add(hash_user(f"user{i}"))
        store.write({("GET /feed/", "request", "web", now_minute - days_ago * 24 * 60):
                     [1, 0, 1000, 1000, {10: 1}, 0, users, ""]})
    feature = Feature.objects.get()
    windows = {key: window_from({"range": key}) for key in ("30d", "90d")}
    before = {key: queries.users_by_feature(w, None) for key, w in windows.items()}
    assert before["90d"][feature.pk] == len(  # exact: every bucket read is exact
        {i for d in range(0, 60, 3) for i in range(d * 40, d * 40 + 300)})
    call_command("tracekit_prune", stdout=io.StringIO())
    assert set(RangeUsers.objects.values_list("days", flat=True)) == {7, 30, 90}
    # The pages now read the prebuilt union and today's row only: the same counts, even
    # once the past days' rows are gone.
    FeatureStats.objects.filter(bucket_start__lt=windows["90d"].end - 86400).update(users=b"")
    after = {key: queries.users_by_feature(w, None) for key, w in windows.items()}
    assert after == before
    # A version filter (the feature page's versions) never uses the prebuilt union.
    assert queries.users_by_feature(windows["90d"], None, version="") != before["90d"]


def test_the_7_day_page_reads_the_prebuilt_days_and_the_hours_around_them() -> None:
    """The 7-day preset (hour buckets) reads the prebuilt union of its six whole days
    before today, the hours before its first midnight and today's hours: the same count
    as before the union existed."""
    import io

    from django.core.management import call_command

    from django_tracekit.pages.shared.window import window_from
    from django_tracekit.pages.usage import users as queries
    from django_tracekit.storage.usage_models import RangeUsers

    window = window_from({"range": "7d"})
    today = (window.end - 1) - (window.end - 1) % DAY
    first_day = today - 6 * DAY
    minutes = {"days": (first_day + 2 * DAY) // 60,  # in the prebuilt days
               "today": int(time.time()) // 60}
    if window.start < first_day:  # the hours before the first midnight (not at 23:xx UTC)
        minutes["edge"] = window.start // 60
    expected: set[str] = set()
    for part, minute in minutes.items():
        users = Users()
        for i in range(200):
            users.add(hash_user(f"{part}{i}"))
            expected.add(f"{part}{i}")
        store.write({("GET /feed/", "request", "web", minute):
                     [1, 0, 1000, 1000, {10: 1}, 0, users, ""]})
    feature = Feature.objects.get()
    assert queries.users_by_feature(window, None) == {feature.pk: len(expected)}
    call_command("tracekit_prune", stdout=io.StringIO())
    assert RangeUsers.objects.filter(days=7, day_start=today).count() == 1
    # The whole days' own rows no longer hold their users: only the union has them.
    FeatureStats.objects.filter(bucket_start__gte=first_day, bucket_start__lt=today).update(
        users=b"")
    assert queries.users_by_feature(window, None) == {feature.pk: len(expected)}
    RangeUsers.objects.all().delete()  # without it, the whole days count nobody now
    assert queries.users_by_feature(window, None) == {feature.pk: len(expected) - 200}
