"""End to end: real requests through the middleware -> spans -> flush -> the admin pages."""

from __future__ import annotations

import json
import re
import time

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client, override_settings
from django.urls import reverse

from django_tracekit.destinations.stats import store
from django_tracekit.destinations.stats.processor import StatsProcessor
from django_tracekit.models import Feature
from tests.stats.helpers import SITE_SETTINGS, finish, start_django, usage_rows

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.stats.urls")]


def viewer(username: str = "viewer") -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_feature",
                                                     content_type__app_label="django_tracekit"))
    return user


def test_requests_show_up_with_exact_counts(stats_processor: StatsProcessor) -> None:
    client = Client(raise_request_exception=False)
    for pk in (1, 2, 3):
        assert client.get(f"/orders/{pk}/").status_code == 200
    assert client.get("/fail/").status_code == 500
    assert client.get("/nowhere/").status_code == 404
    assert stats_processor.flush()

    client.force_login(viewer())
    page = client.get(reverse("admin:tracekit_usage"), {"range": "1h", "kind": "all"})
    assert page.status_code == 200
    rows = usage_rows(page.content.decode())
    assert rows == {
        ("GET /orders/<int:pk>/", "request"): (3, 0),
        ("tests/stats/urls/order", "function"): (3, 0),  # the view span
        ("tests/stats/urls/load_order", "function"): (3, 0),  # @tracekit.traced
        ("GET /fail/", "request"): (1, 1),
        ("tests/stats/urls/fail", "function"): (1, 1),
        # Unresolved URL: no route, one clear feature for all of them.
        ("GET (unmatched)", "request"): (1, 0),
    }
    # The default listing: entry points only; one incident, one error in the headline.
    default = client.get(reverse("admin:tracekit_usage"), {"range": "1h"}).content.decode()
    assert set(usage_rows(default)) == {("GET /orders/<int:pk>/", "request"),
                                        ("GET /fail/", "request"),
                                        ("GET (unmatched)", "request")}
    assert 'id="tk-total-calls">5<' in default and 'id="tk-total-errors">1<' in default

    fail = Feature.objects.get(name="GET /fail/")
    tracer = viewer("tracer")  # messages and stacks on the page need view_trace too
    tracer.user_permissions.add(Permission.objects.get(codename="view_trace",
                                                       content_type__app_label="django_tracekit"))
    client.force_login(tracer)
    detail = client.get(reverse("admin:tracekit_usage_feature", args=[fail.pk]),
                        {"range": "24h"})
    text = detail.content.decode()
    assert detail.status_code == 200
    assert 'id="tk-calls">1<' in text and 'id="tk-errors">1<' in text
    assert "RuntimeError" in text and "kaboom" in text
    assert 'raise RuntimeError(&quot;kaboom&quot;)' not in text  # no source lines: cheap stacks
    assert "in fail" in text  # the stack trace, with the raising frame
    assert "<svg" in text and "tk-p95" in text  # both charts rendered


def _seed(names: list[tuple[str, str, str]], minute: int | None = None) -> None:
    minute = minute if minute is not None else int(time.time()) // 60
    store.write({(name, kind, service, minute): [i + 1, i % 2, (i + 1) * 10**6, 10**6,
                                                 {40: i + 1}]
                 for i, (name, kind, service) in enumerate(names)})


def test_filter_search_sort() -> None:
    _seed([("shop/a", "function", "web"), ("GET /b/", "request", "web"),
           ("shop/tasks/c", "task", "worker"), ("shop/d", "function", "worker")])
    client = Client()
    client.force_login(viewer())
    url = reverse("admin:tracekit_usage")

    def names(**params: str) -> list[str]:
        page = client.get(url, {"range": "1h", **params}).content.decode()
        return [f for f, _ in usage_rows(page)]

    # Entry points by default (the team's functions are one tab away), most calls first.
    assert names() == ["shop/tasks/c", "GET /b/"]
    assert names(kind="all") == ["shop/d", "shop/tasks/c", "GET /b/", "shop/a"]
    assert names(kind="all", sort="calls") == ["shop/a", "GET /b/", "shop/tasks/c", "shop/d"]
    assert names(kind="all", sort="feature") == ["GET /b/", "shop/a", "shop/d", "shop/tasks/c"]
    assert names(kind="function") == ["shop/d", "shop/a"]
    assert names(kind="all", service="worker") == ["shop/d", "shop/tasks/c"]
    assert names(service="worker") == ["shop/tasks/c"]
    assert names(kind="all", q="TASKS") == ["shop/tasks/c"]
    assert names(kind="bogus") == names()  # an unknown kind is ignored, not an error
    # Features with no calls in the window stay listed (unused features are news too).
    assert usage_rows(client.get(url, {"range": "custom", "from": "2001-01-01T00:00",
                                       "to": "2001-01-02T00:00", "kind": "all"}
                                 ).content.decode()) == {
        ("shop/a", "function"): (0, 0), ("GET /b/", "request"): (0, 0),
        ("shop/tasks/c", "task"): (0, 0), ("shop/d", "function"): (0, 0)}


def test_the_n_plus_one_cell_says_occurrences_not_calls() -> None:
    # wger's GET /api/v2/exercise/ read 90 for 30 calls (3 statements repeated per request):
    # a tooltip promising "calls" made the cell look wrong.
    minute = int(time.time()) // 60
    store.write({("GET /b/", "request", "web", minute): [2, 0, 2 * 10**6, 10**6, {40: 2}, 6]})
    client = Client()
    client.force_login(viewer())
    text = client.get(reverse("admin:tracekit_usage"), {"range": "1h"}).content.decode()
    cell = re.search(r'<td class="tk-num" data-label="N\+1"><span class="tk-warn" '
                     r'title="([^"]*)">6</span>', text)
    assert cell is not None
    assert "occurrences" in cell.group(1) and not cell.group(1).startswith("Calls")


def test_bad_custom_range_is_reported_not_a_crash() -> None:
    client = Client()
    client.force_login(viewer())
    page = client.get(reverse("admin:tracekit_usage"), {"range": "custom", "from": "nope"})
    assert page.status_code == 200
    assert "Enter a valid start date and time." in page.content.decode()


def test_span_names_are_escaped() -> None:
    _seed([("<script>alert(1)</script>", "function", "web\"><b>x")])
    client = Client()
    client.force_login(viewer())
    text = client.get(reverse("admin:tracekit_usage"), {"kind": "all"}).content.decode()
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert '"><b>x' not in text
    feature = Feature.objects.get()
    detail = client.get(reverse("admin:tracekit_usage_feature", args=[feature.pk])).content
    assert b"<script>alert(1)</script>" not in detail and b"&lt;script&gt;" in detail


def test_admin_index_has_a_tracekit_section() -> None:
    client = Client()
    client.force_login(viewer())
    text = client.get(reverse("admin:index")).content.decode()
    assert "Tracekit" in text
    assert f'href="{reverse("admin:tracekit_usage")}"' in text
    # The changelist URL is the usage page itself.
    assert reverse("admin:tracekit_usage") == reverse("admin:django_tracekit_feature_changelist")


def test_only_staff_with_the_view_permission() -> None:
    url = reverse("admin:tracekit_usage")
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    client = Client()
    client.force_login(User.objects.create_user("staff", is_staff=True))  # no permission
    assert client.get(url).status_code == 403
    feature = Feature.objects.create(name="f", kind="function", service="web")
    assert client.get(reverse("admin:tracekit_usage_feature", args=[feature.pk])
                      ).status_code == 403
    client.force_login(User.objects.create_user("user"))  # permission, but not staff
    User.objects.get(username="user").user_permissions.add(
        Permission.objects.get(codename="view_feature"))
    assert client.get(url).status_code == 302
    client.force_login(viewer("ok"))
    assert client.get(url).status_code == 200


@override_settings(TRACEKIT={"EXPORTER": "tests.support.memory.processor",
                             "TRACE_URL": "https://jaeger.example/trace/{trace_id}",
                             "STATS": {"ENABLED": False}})
def test_trace_ids_link_to_the_trace_viewer(stats_processor: StatsProcessor) -> None:
    Client(raise_request_exception=False).get("/fail/")
    assert stats_processor.flush()
    client = Client()
    client.force_login(viewer())
    feature = Feature.objects.get(name="GET /fail/")
    text = client.get(reverse("admin:tracekit_usage_feature", args=[feature.pk])).content
    assert b'href="https://jaeger.example/trace/' in text


# SAMPLE_RATE 0.0 needs its own process (the sampler is chosen once, at bootstrap).
SAMPLED_OUT = """
django.setup()
from django_tracekit.destinations import stats
from django.core.management import call_command
from django.contrib.auth.models import User
from django.test import Client
from tests.support import memory
call_command("migrate", verbosity=0)
client = Client(raise_request_exception=False)
for pk in range(7):
    assert client.get(f"/orders/{pk}/").status_code == 200
assert client.get("/fail/").status_code == 500
exported = len(memory.exporter.get_finished_spans())
assert stats.flush()
client.force_login(User.objects.create_superuser("root", password="x"))
page = client.get("/admin/django_tracekit/feature/?range=1h&kind=all").content.decode()
print(json.dumps({"exported": exported, "page": page}))
"""


def test_sampled_out_traffic_is_counted_exactly() -> None:
    settings = {**SITE_SETTINGS, "DATABASES": {"default": {
        "ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        "LOGGING_CONFIG": None, "BASE_DIR": "/srv/shop",
        "TRACEKIT": {"EXPORTER": "tests.support.memory.processor", "SAMPLE_RATE": 0.0,
                     "STATS": {"ENABLED": True, "FLUSH_INTERVAL_S": 3600}}}
    out = json.loads(finish(start_django(SAMPLED_OUT, settings, setup=False))
                     .strip().splitlines()[-1])
    assert out["exported"] == 0  # nothing sampled, nothing exported...
    rows = usage_rows(out["page"])
    # ...and every request, view and traced call counted anyway, errors included.
    assert rows[("GET /orders/<int:pk>/", "request")] == (7, 0)
    # (PROJECT_NAME is "tests" here: the top package of ROOT_URLCONF, whatever BASE_DIR)
    assert rows[("tests/stats/urls/order", "function")] == (7, 0)
    assert rows[("tests/stats/urls/load_order", "function")] == (7, 0)
    assert rows[("GET /fail/", "request")] == (1, 1)
