"""Noise out: code outside the project is not the team's feature, and tracekit's own pages
are not traced at all (issue 20, item 5)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models import Sum
from django.test import Client, override_settings
from django.urls import reverse

from django_tracekit.core.features import outside_project
from django_tracekit.destinations.stats.processor import StatsProcessor
from django_tracekit.models import Feature
from django_tracekit.storage.usage_models import FeatureStats
from tests.conftest import Spans
from tests.stats.helpers import usage_rows
from tests.stats.test_admin import _seed, viewer

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.stats.urls")]

DJANGO_LOGIN = "django/contrib/admin/sites/AdminSite/login"


def test_tracekit_pages_make_no_features_and_django_code_is_not_the_teams(
        stats_processor: StatsProcessor) -> None:
    client = Client()
    user = viewer()
    # Django's admin login view: the route is the project's, the view code is Django's.
    assert client.get("/admin/login/").status_code == 200
    client.force_login(user)
    assert client.get("/orders/1/").status_code == 200
    for _ in range(3):  # tracekit's own pages: usage, a detail page, the traces
        assert client.get(reverse("admin:tracekit_usage")).status_code == 200
    assert client.get(reverse("admin:tracekit_traces")).status_code in (200, 403)
    assert client.get("/static/django_tracekit/usage.css").status_code == 404
    assert stats_processor.flush()

    names = set(Feature.objects.values_list("name", flat=True))
    assert not [n for n in names if "django_tracekit" in n], names  # no page, no view
    assert "GET /admin/login/" in names and "GET /orders/<int:pk>/" in names
    # Named by its own module path, without PROJECT_NAME ("tests") in front.
    assert DJANGO_LOGIN in names and f"tests/{DJANGO_LOGIN}" not in names
    assert "tests/stats/urls/order" in names  # the project's view: prefixed

    usage = reverse("admin:tracekit_usage")
    functions = usage_rows(client.get(usage, {"range": "1h", "kind": "function"})
                           .content.decode())
    assert ("tests/stats/urls/order", "function") in functions
    assert (DJANGO_LOGIN, "function") not in functions  # not on the default pages
    everything = client.get(usage, {"range": "1h", "kind": "function", "scope": "all"})
    assert (DJANGO_LOGIN, "function") in usage_rows(everything.content.decode())
    # The admin login page is a request the project routes: the team's entry point.
    entry = usage_rows(client.get(usage, {"range": "1h"}).content.decode())
    assert ("GET /admin/login/", "request") in entry


def test_default_pages_tabs_and_csv_leave_out_code_outside_the_project() -> None:
    _seed([("tests/orders/views/detail", "function", "web"),
           (DJANGO_LOGIN, "function", "web"),
           ("opentelemetry/sdk/trace/Tracer/start_span", "task", "worker"),  # a library's
           ("tests/tasks/send_mail", "task", "worker"),
           # Recorded by an older tracekit, which prefixed Django's code too.
           ("tests/django/contrib/auth/views/LoginView/get", "function", "web"),
           ("GET /orders/", "request", "web")])
    client = Client()
    client.force_login(viewer())
    usage = reverse("admin:tracekit_usage")

    page = client.get(usage, {"range": "1h", "kind": "all"}).content.decode()
    assert set(usage_rows(page)) == {("tests/orders/views/detail", "function"),
                                     ("tests/tasks/send_mail", "task"),
                                     ("GET /orders/", "request")}
    # The tasks tab counts the team's task only (4 calls, not 4 + 3).
    assert 'data-kind-tab="task">Tasks <span class="tk-tab-count">4 ' in page
    assert 'id="tk-scope"' in page and "scope=all" in page

    everything = client.get(usage, {"range": "1h", "kind": "all", "scope": "all"})
    assert len(usage_rows(everything.content.decode())) == 6

    exported = client.get(usage, {"range": "1h", "kind": "all", "format": "csv"})
    names = {row["feature"] for row in csv.DictReader(io.StringIO(exported.content.decode()))}
    assert names == {"tests/orders/views/detail", "tests/tasks/send_mail", "GET /orders/"}

    # An unknown scope value falls back to the default listing.
    odd = client.get(usage, {"range": "1h", "kind": "all", "scope": "bogus"})
    assert len(usage_rows(odd.content.decode())) == 3


def test_outside_project_prefixes() -> None:
    names = ["tests/a/b", "django/contrib/x", "rest_of/unknown_module", "GET /x/",
             "opentelemetry/sdk/trace", "(other)", "no_slash", "json/decoder/JSONDecoder/decode",
             "tests/django_tracekit/pages/admin/FeatureUsageAdmin/usage_view",
             "django_tracekit/pages/x"]
    assert outside_project(names, "tests") == [
        "django/", "django_tracekit/", "json/", "opentelemetry/", "tests/django_tracekit/"]
    # Nothing is outside a project whose names are all its own.
    assert outside_project(["tests/a", "GET /b/", "shop/c"], "tests") == []


def test_most_features_hidden_as_outside_code_says_how_many_and_what_to_do() -> None:
    """Misago's trial: BASE_DIR was the settings package, so PROJECT_NAME ("tests" here)
    was not the team's package ("example_project", beside tests/): every task and function
    was outside code and the default page showed 0 tasks. The page says so instead."""
    _seed([("GET /threads/", "request", "web"),
           ("example_project/threads/views/index", "function", "web"),
           ("example_project/tasks/sync_profile", "task", "worker"),
           ("example_project/users/avatars/resize", "function", "worker")])
    client = Client()
    client.force_login(viewer())
    usage = reverse("admin:tracekit_usage")
    page = client.get(usage, {"range": "1h"}).content.decode()
    assert 'id="tk-outside-notice"' in page
    assert "3 features hidden as outside code (PROJECT_NAME = 'tests')" in page
    assert "set TRACEKIT['PROJECT_NAME']" in page
    assert 'href="?range=1h&amp;scope=all"' in page  # "show all"
    # Shown all: nothing hidden, nothing to say.
    assert 'id="tk-outside-notice"' not in client.get(
        usage, {"range": "1h", "scope": "all"}).content.decode()


def test_a_few_outside_features_are_not_worth_a_notice() -> None:
    _seed([("GET /orders/", "request", "web"), ("tests/orders/views/detail", "function", "web"),
           ("tests/orders/tasks/ship", "task", "worker"), (DJANGO_LOGIN, "function", "web")])
    client = Client()
    client.force_login(viewer())
    page = client.get(reverse("admin:tracekit_usage"), {"range": "1h"}).content.decode()
    assert 'id="tk-outside-notice"' not in page


def _files(root: Path) -> tuple[Path, Path]:
    static, media = root / "static", root / "media"
    (static / "css").mkdir(parents=True)
    media.mkdir()
    (static / "css" / "site.css").write_text("body { color: black }")
    (media / "avatar.txt").write_text("an upload")
    return static, media


def test_static_and_media_files_are_not_features_counted_or_traced(
        stats_processor: StatsProcessor, spans: Spans, tmp_path: Path) -> None:
    """Django's static serving and WhiteNoise, through the middleware: files under STATIC_URL
    and MEDIA_URL are answered untraced, as EXCLUDED_URLS are (the Styleguide trial counted
    every file as "GET (unmatched)"); EXCLUDED_URLS still apply beside them."""
    from whitenoise.middleware import WhiteNoiseMiddleware

    static, media = _files(tmp_path)
    middleware = [settings.MIDDLEWARE[0], "whitenoise.middleware.WhiteNoiseMiddleware",
                  *settings.MIDDLEWARE[1:]]
    tracekit = {**settings.TRACEKIT, "EXCLUDED_URLS": [r"^/orders/2/"]}
    with override_settings(STATIC_URL="/static/", STATIC_ROOT=str(static),
                           MEDIA_URL="/media/", MEDIA_ROOT=str(media),
                           ROOT_URLCONF="tests.stats.static_urls", TRACEKIT=tracekit):
        client = Client()
        served = client.get("/static/css/site.css")  # Django's static.serve
        assert served.status_code == 200
        assert b"".join(served.streaming_content) == b"body { color: black }"  # type: ignore[attr-defined]
        served.close()  # a traced file response's span would end here
        media_file = client.get("/media/avatar.txt")
        assert media_file.status_code == 200
        media_file.close()
        assert client.get("/static/missing.js").status_code == 404
        with override_settings(MIDDLEWARE=middleware, WHITENOISE_AUTOREFRESH=True):
            answered = Client().get("/static/css/site.css")  # WhiteNoise answers it itself
            assert answered.status_code == 200
            assert type(answered).__module__ == WhiteNoiseMiddleware.__module__
            answered.close()
        assert client.get("/orders/1/").status_code == 200
        assert client.get("/orders/2/").status_code == 200  # excluded by the setting
    # Only /orders/1/: no span of the file views or of anything under them.
    assert [n for n in spans.names() if n.startswith("GET")] == ["GET /orders/<int:pk>/"]
    assert not [n for n in spans.names() if "serve" in n or "static" in n], spans.names()
    assert stats_processor.flush()
    names = set(Feature.objects.values_list("name", flat=True))
    assert "GET /orders/<int:pk>/" in names
    assert not [n for n in names if "unmatched" in n or "static" in n or "media" in n], names
    orders = Feature.objects.get(name="GET /orders/<int:pk>/")
    calls = FeatureStats.objects.filter(feature=orders, resolution=60).aggregate(n=Sum("calls"))
    assert calls["n"] == 1


def test_static_url_on_another_host_or_the_site_root_leaves_requests_traced(
        spans: Spans, tmp_path: Path) -> None:
    static, media = _files(tmp_path)
    with override_settings(STATIC_URL="https://cdn.example.com/static/", STATIC_ROOT=str(static),
                           MEDIA_URL="/", MEDIA_ROOT=str(media),
                           ROOT_URLCONF="tests.stats.static_urls"):
        served = Client().get("/static/css/site.css")
        assert served.status_code == 200
        served.close()  # a file response's span ends when its body is done
        assert Client().get("/orders/1/").status_code == 200
    assert [n for n in spans.names() if n.startswith("GET")] == [
        "GET /static/<path>", "GET /orders/<int:pk>/"]
    assert "django/views/static/serve" in spans.names()
