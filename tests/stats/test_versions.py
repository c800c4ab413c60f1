"""The feature page compares the versions a feature ran under: latest against previous."""

from __future__ import annotations

import re
import time

import pytest
from django.test import Client
from django.urls import reverse

from django_tracekit.core.histogram import bucket_index
from django_tracekit.core.sketch import Users, hash_user
from django_tracekit.destinations.stats import store
from django_tracekit.models import Feature
from django_tracekit.pages.shared.window import window_from
from django_tracekit.pages.usage import versions as queries
from tests.stats.test_admin import viewer

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.stats.urls")]

VERSION_ROW = re.compile(r'<tr data-version="([^"]+)">(.*?)</tr>', re.S)


def _write(version: str, minute: int, calls: int, errors: int, ms: int, users: range) -> None:
    sketch = Users()
    for i in users:
        sketch.add(hash_user(str(i)))
    store.write({("GET /checkout/", "request", "web", minute): [
        calls, errors, calls * ms * 10**6, ms * 10**6, {bucket_index(ms * 10**6): calls}, 0,
        sketch, version]})


def test_latest_version_against_the_previous() -> None:
    minute = int(time.time()) // 60
    _write("1.0", minute - 180, 100, 1, 20, range(0, 30))
    _write("1.0", minute - 120, 100, 1, 20, range(20, 40))
    _write("1.1", minute - 30, 50, 5, 80, range(35, 60))
    feature = Feature.objects.get()

    window = window_from({"range": "24h"})
    latest, previous = queries.versions_table(window, feature.pk)
    assert (latest["version"], latest["calls"], latest["errors"], latest["users"]) == (
        "1.1", 50, 5, 25)
    assert (previous["version"], previous["calls"], previous["errors"], previous["users"]) == (
        "1.0", 200, 2, 40)
    assert latest["p50"] > 3 * previous["p50"]  # 80 ms against 20 ms (histogram estimate)

    client = Client()
    client.force_login(viewer())
    page = client.get(reverse("admin:tracekit_usage_feature", args=[feature.pk]),
                      {"range": "24h"}).content.decode()
    rows = VERSION_ROW.findall(page)
    assert [v for v, _ in rows] == ["1.1", "1.0"]
    latest_row = rows[0][1]
    # Error rate 10 % against 1 % (significant: z = 3.4), p95 four times: flagged worse,
    # with the change (percentage points for the rate).
    assert latest_row.count("tk-delta-bad") == 3 and "(+9.0 pp)" in latest_row
    assert "(+300 %)" in latest_row
    # The range applies: the last hour saw only 1.1.
    assert [v["version"] for v in queries.versions_table(window_from({"range": "1h"}),
                                                         feature.pk)] == ["1.1"]


def test_two_releases_minutes_apart_in_one_hour_latest_is_the_newer() -> None:
    """The styleguide trial: the older git-hash release, still draining when the newer one
    started in the same hour, was marked latest by its name."""
    hour_start = (int(time.time()) // 3600 - 1) * 60  # minutes: the previous full hour
    _write("f0ld", hour_start + 10, 5, 0, 20, range(0, 3))
    _write("f0ld", hour_start + 18, 1, 0, 20, range(0, 1))
    _write("0new", hour_start + 18, 5, 0, 20, range(3, 6))
    _write("0new", hour_start + 40, 5, 0, 20, range(3, 6))
    feature = Feature.objects.get()
    rows = queries.versions_table(window_from({"range": "24h"}), feature.pk)
    assert [v["version"] for v in rows] == ["0new", "f0ld"]


def test_without_a_version_the_page_says_how_to_get_one() -> None:
    store.write({("GET /x/", "request", "web", int(time.time()) // 60): [1, 0, 0, 0, {}]})
    client = Client()
    client.force_login(viewer())
    page = client.get(reverse("admin:tracekit_usage_feature",
                              args=[Feature.objects.get().pk])).content.decode()
    assert "SERVICE_VERSION" in page and "data-version" not in page
