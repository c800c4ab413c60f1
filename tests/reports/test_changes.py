"""admin:tracekit_changes: two versions compared across all features, worst first."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from django_tracekit.core.histogram import bucket_index
from django_tracekit.destinations.stats import store
from django_tracekit.pages.releases import compare as releases
from tests.stats.test_admin import viewer

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.stats.urls")]

ROW = re.compile(r'<tr data-change="([^"]*)" data-score="([^"]*)">')
HOUR_MIN = 60


def _write(version: str, minute: int, feature: str, calls: int, errors: int, ms: float,
           kind: str = "request") -> None:
    ns = int(ms * 1e6)
    store.write({(feature, kind, "web", minute): [
        calls, errors, calls * ns, ns, {bucket_index(ns): calls}, 0, None, version]})


@pytest.fixture(autouse=True)
def _fresh_feature_ids() -> Iterator[None]:
    store.clear_cache()  # feature ids of a rolled-back test database are stale
    yield
    store.clear_cache()


@pytest.fixture
def two_releases() -> None:
    now = int(time.time()) // 60
    old, new = now - 3 * HOUR_MIN, now - 30
    # 1.0: everything fine.
    _write("1.0", old, "POST /checkout/", 40, 0, 20)
    _write("1.0", old, "GET /slow/", 100, 0, 20)
    _write("1.0", old, "GET /same/", 100, 1, 57.06)
    _write("1.0", old, "GET /gone/", 10, 0, 5)
    _write("1.0", old, "GET /better/", 100, 50, 20)
    # 1.1: checkout fails every time, /slow/ is 8x slower, /same/ 1.3 % faster
    # (within the estimate's 1.93 % error), /gone/ vanished, a new page, /better/ recovered.
    _write("1.1", new, "POST /checkout/", 30, 30, 20)
    _write("1.1", new, "GET /slow/", 100, 0, 160)
    _write("1.1", new, "GET /same/", 100, 1, 56.3)
    _write("1.1", new, "GET /new/<script>alert(1)</script>", 5, 0, 3)
    _write("1.1", new, "GET /better/", 100, 0, 20)


def _page(client: Client, **params: str) -> str:
    response = client.get(reverse("admin:tracekit_changes"), params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_newest_against_the_one_before_worst_first(two_releases: None) -> None:
    assert [v["version"] for v in releases.versions()] == ["1.1", "1.0"]
    client = Client()
    client.force_login(viewer())
    page = _page(client)
    assert 'id="tk-before-version">1.0<' in page and 'id="tk-after-version">1.1<' in page
    changed = page.split('id="tk-changed"')[1].split('id="tk-new-features"')[0]
    rows = [(html.unescape(name), score) for name, score in ROW.findall(changed)]
    # 0 % -> 100 % errors first (score 100), then 8x slower (25 x 3), then unchanged, then
    # the recovered one (-50).
    assert rows == [("POST /checkout/", "+100"), ("GET /slow/", "+75"), ("GET /same/", "0"),
                    ("GET /better/", "-50")]
    same = changed.split('data-change="GET /same/"')[1].split("</tr>")[0]
    assert same.count("no significant change") == 2  # error rate and p95
    new = page.split('id="tk-new-features"')[1].split('id="tk-vanished-features"')[0]
    assert ROW.findall(new)[0][0] == html.escape("GET /new/<script>alert(1)</script>")
    assert "<script>alert(1)</script>" not in page  # escaped everywhere
    vanished = page.split('id="tk-vanished-features"')[1]
    assert [n for n, _ in ROW.findall(vanished)] == ["GET /gone/"]
    assert 'id="tk-regressed">2<' in page and 'id="tk-improved">1<' in page


def test_both_versions_are_chosen_in_the_page(two_releases: None) -> None:
    client = Client()
    client.force_login(viewer())
    # Reversed: 1.1 -> 1.0 makes checkout an improvement and the new page a vanished one.
    page = _page(client, before="1.1", after="1.0")
    changed = page.split('id="tk-changed"')[1].split('id="tk-new-features"')[0]
    assert ROW.findall(changed)[0] == ("GET /better/", "+50")
    assert dict(ROW.findall(changed))["POST /checkout/"] == "-100"
    # An unknown version is named, and the default is shown.
    page = _page(client, after="9.9")
    assert "No version 9.9 was recorded" in page and 'id="tk-after-version">1.1<' in page
    # A NUL byte is refused with a message, not a 500.
    assert "not allowed" in _page(client, before="1.0\x00")
    # Kind and service narrow the features.
    assert ROW.findall(_page(client, kind="task")) == []


def test_one_version_says_what_is_missing() -> None:
    _write("1.0", int(time.time()) // 60, "GET /x/", 1, 0, 1)
    client = Client()
    client.force_login(viewer())
    page = _page(client)
    assert 'id="tk-no-versions"' in page and "a comparison needs two" in page


def test_permissions(two_releases: None) -> None:
    url = reverse("admin:tracekit_changes")
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    staff = User.objects.create_user("staff", password="pw", is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.get(url).status_code == 403


def test_the_feature_page_links_to_the_comparison(two_releases: None) -> None:
    from django_tracekit.models import Feature

    client = Client()
    client.force_login(viewer())
    feature = Feature.objects.get(name="GET /same/")
    page = client.get(reverse("admin:tracekit_usage_feature", args=[feature.pk]),
                      {"range": "24h"}).content.decode()
    link = re.search(r'href="([^"]+)" id="tk-changes-link"', page)
    assert link is not None
    assert html.unescape(link.group(1)) == reverse("admin:tracekit_changes") + \
        "?before=1.0&after=1.1"
    # The version table's deltas are within the estimate's error.
    latest = page.split('<tr data-version="1.1">')[1].split("</tr>")[0]
    assert latest.count("no significant change") == 3 and "tk-delta-bad" not in latest


def test_the_tracekit_section_lists_releases(two_releases: None) -> None:
    client = Client()
    client.force_login(viewer())
    index = client.get(reverse("admin:index")).content.decode()
    entry = reverse("admin:django_tracekit_release_changelist")
    assert f'href="{entry}"' in index and ">Releases<" in index
    page = client.get(entry)
    assert page.status_code == 200 and b'id="tk-after-version">1.1<' in page.content
    staff = User.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    assert entry not in client.get(reverse("admin:index")).content.decode()
    assert client.get(entry).status_code == 403


def test_django_and_library_code_is_not_compared(two_releases: None) -> None:
    now = int(time.time()) // 60
    for version, minute, ms in (("1.0", now - 3 * HOUR_MIN, 1.0), ("1.1", now - 30, 9.0)):
        _write(version, minute, "django/contrib/admin/sites/AdminSite/login", 100, 0, ms,
               kind="function")
    result = releases.compare("1.0", "1.1", kinds=None)
    names = {row["name"] for rows in result.values() for row in rows}
    assert "GET /slow/" in names
    assert not any(name.startswith("django/") for name in names)


def test_entry_points_by_default_every_kind_on_request(two_releases: None) -> None:
    now = int(time.time()) // 60
    for version, minute in (("1.0", now - 3 * HOUR_MIN), ("1.1", now - 30)):
        _write(version, minute, "tests/orders/services/charge", 100, 0, 5, kind="function")
    client = Client()
    client.force_login(viewer("view_feature"))
    default = {name for name, _ in ROW.findall(_page(client))}
    everything = {name for name, _ in ROW.findall(_page(client, kind="all"))}
    assert "GET /slow/" in default and "tests/orders/services/charge" not in default
    assert "tests/orders/services/charge" in everything


def test_two_releases_minutes_apart_in_one_hour_are_ordered_by_when_each_started() -> None:
    """The styleguide trial: git-hash versions deployed 8 minutes apart fell in one hour and
    the older sorted as the newest by its hash; minute rows tell them apart."""
    hour_start = (int(time.time()) // 3600 - 1) * 60  # minutes: the previous full hour
    _write("f0ld", hour_start + 10, "GET /a/", 5, 0, 20)  # the older release ...
    _write("f0ld", hour_start + 18, "GET /a/", 1, 0, 20)  # ... still draining
    _write("0new", hour_start + 18, "GET /a/", 5, 0, 20)
    assert [v["version"] for v in releases.versions()] == ["0new", "f0ld"]


def test_a_release_of_the_current_minute_is_compared_before_its_hour_row_exists() -> None:
    """A flush writes minute rows only; the merge adds them to their hour rows once the
    minute closed: until then the releases page reads the minutes after the merged ones."""
    from django_tracekit.destinations.stats import merging
    from django_tracekit.storage.usage_models import HOUR, FeatureStats

    now = int(time.time()) // 60
    _write("1.0", now - 3 * HOUR_MIN, "GET /a/", 10, 0, 20)
    _write("2.0", now, "GET /a/", 10, 10, 20)
    assert not FeatureStats.objects.filter(version="2.0", resolution=HOUR).exists()
    client = Client()
    client.force_login(viewer())

    def seen() -> tuple[list[str], list[tuple[str, str]]]:
        page = _page(client)
        changed = page.split('id="tk-changed"')[1].split('id="tk-new-features"')[0]
        return [v["version"] for v in releases.versions()], ROW.findall(changed)

    before = seen()
    assert before == (["2.0", "1.0"], [("GET /a/", "+100")])  # 0 % -> 100 % errors
    merging.merge("default", now=(now + 1) * 60 + merging.MERGE_AFTER)
    assert FeatureStats.objects.filter(version="2.0", resolution=HOUR).exists()
    assert seen() == before
