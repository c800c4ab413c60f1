"""Producer -> task edges, counted exactly: gunicorn serves views that enqueue Celery tasks,
a real prefork worker (Redis) runs them; both write their stats to one database. The
worker counts each task once per final state (retried attempts are retries) under the
entry point that enqueued it, also for a task enqueued by a task."""

from __future__ import annotations

import html
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.http import HttpRequest, JsonResponse
from django.test import Client
from django.urls import path, reverse

from django_tracekit.core import producers
from django_tracekit.destinations.stats import edges, store
from django_tracekit.destinations.stats.processor import StatsProcessor
from django_tracekit.models import Feature
from tests.stats.test_admin import viewer
from tests.support.web_and_worker import WebAndWorker

SETTINGS = "tests.stats.edges_project.settings"
WAIT_S = 90.0
TASKS = "tests/celery/project/tasks/"
EDGES_SQL = """
SELECT p.kind, p.service, p.name, t.name, t.service, e.calls, e.errors, e.retries
FROM tracekit_task_edge e JOIN tracekit_feature p ON p.id = e.producer_id
JOIN tracekit_feature t ON t.id = e.task_id WHERE e.resolution = 86400"""


class Stack(WebAndWorker):
    def __init__(self, database: Path, tmp: Path) -> None:
        super().__init__(SETTINGS, tmp, broker="redis://127.0.0.1:6379/12",
                         queue_prefix="tracekit-edges", server_workers=2,
                         TK_TRACES_DB=f"sqlite:{database}")


@pytest.mark.requires("celery", "redis", "gunicorn")
@pytest.mark.service("redis")
def test_edges_from_real_processes(tmp_path: Path) -> None:
    database = tmp_path / "shared.sqlite3"
    stack = Stack(database, tmp_path)
    expected = {
        ("request", "shop-web", "GET /order/", TASKS + "charge"): (3, 3, 0),
        ("request", "shop-web", "GET /order/", TASKS + "encode"): (2, 0, 0),
        # Failed twice, retried, then succeeded: one task, no error, two retries.
        ("request", "shop-web", "GET /run/<str:task>/", TASKS + "flaky"): (1, 0, 2),
        ("request", "shop-web", "GET /run/<str:task>/", TASKS + "fan_out"): (1, 0, 0),
        # A task enqueuing tasks (a group and a chord of 3 each).
        ("task", "shop-worker", TASKS + "fan_out", TASKS + "add"): (6, 0, 0),
    }
    found: dict[tuple[str, str, str, str], tuple[int, int, int]] = {}
    try:
        for _ in range(3):
            stack.get("/order/?task=charge")
        for _ in range(2):
            stack.get("/order/")
        stack.get("/run/flaky/")
        stack.get("/run/fan_out/")
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            with sqlite3.connect(database, timeout=30) as db:
                rows = list(db.execute(EDGES_SQL))
            found = {(k, s, p, t): (c, e, r) for k, s, p, t, service, c, e, r in rows
                     if service == "shop-worker"}
            if all(found.get(key) == value for key, value in expected.items()):
                break
            time.sleep(0.2)
    finally:
        stack.stop()
    assert {k: found.get(k) for k in expected} == expected, stack.logs()


@pytest.mark.django_db
@pytest.mark.urls("tests.stats.urls")
def test_the_feature_pages_show_the_edges() -> None:
    store.clear_cache()
    minute = int(time.time()) // 60
    upload = ("request", "web", "POST /videos/<script>/")
    edges.write({(*upload, "shop/videos/tasks/transcode", "worker", minute): [125, 17, 40],
                 (*upload, "shop/videos/tasks/thumbnail", "worker", minute): [125, 0, 0],
                 ("task", "worker", "shop/videos/tasks/transcode",
                  "shop/videos/tasks/thumbnail", "worker", minute): [3, 0, 0]})
    client = Client()
    client.force_login(viewer())
    producer = Feature.objects.get(name="POST /videos/<script>/")
    page = client.get(reverse("admin:tracekit_usage_feature", args=[producer.pk])).content.decode()
    enqueued = page.split('id="tk-enqueued"')[1].split("</table>")[0]
    assert 'data-edge="shop/videos/tasks/transcode"' in enqueued
    transcode_row = enqueued.split('data-edge="shop/videos/tasks/transcode"')[1].split("</tr>")[0]
    assert ">125<" in transcode_row and ">17<" in transcode_row and "13.6 %" in transcode_row
    assert ">40<" in transcode_row  # retries
    assert "<script>" not in page  # the feature name is escaped
    # The viewer lacks view_trace: no links into the trace explorer.
    assert 'id="tk-error-traces"' not in page
    task = Feature.objects.get(name="shop/videos/tasks/thumbnail")
    page = client.get(reverse("admin:tracekit_usage_feature", args=[task.pk])).content.decode()
    by = page.split('id="tk-enqueued-by"')[1].split("</table>")[0]
    assert by.index("POST /videos/&lt;script&gt;/") < by.index("shop/videos/tasks/transcode")
    store.clear_cache()


@pytest.fixture
def trace_viewer() -> Iterator[Any]:
    from django.contrib.auth.models import Permission

    user = viewer("tracer")
    user.user_permissions.add(Permission.objects.get(codename="view_trace",
                                                     content_type__app_label="django_tracekit"))
    yield user


@pytest.mark.django_db
@pytest.mark.urls("tests.stats.urls")
def test_links_into_the_trace_explorer(trace_viewer: Any) -> None:
    store.clear_cache()
    store.write({("GET /a&b/", "request", "web", int(time.time()) // 60): [1, 0, 0, 0, {}]})
    client = Client()
    client.force_login(trace_viewer)
    feature = Feature.objects.get()
    page = client.get(reverse("admin:tracekit_usage_feature", args=[feature.pk])).content.decode()
    links = {m.group(2): html.unescape(m.group(1)) for m in re.finditer(
        r'href="([^"]+)" id="(tk-slowest-traces|tk-error-traces)"', page)}
    slowest, errors = urlsplit(links["tk-slowest-traces"]), urlsplit(links["tk-error-traces"])
    assert slowest.path == errors.path == reverse("admin:tracekit_traces")
    assert parse_qs(slowest.query) == {"feature": ["GET /a&b/"], "sort": ["-duration"]}
    assert parse_qs(errors.query) == {"feature": ["GET /a&b/"], "status": ["error"]}
    assert client.get(links["tk-slowest-traces"]).status_code == 200
    store.clear_cache()


# --- in process: the producer of a request, the counting rules ---------------------------



def _who(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse({"producer": producers.current()})


urlpatterns = [path("shop/<int:pk>/buy/", _who)]


@pytest.mark.urls("tests.stats.test_edges")
def test_the_producer_of_a_running_request(stats_processor: StatsProcessor) -> None:
    reply = Client().get("/shop/7/buy/").json()
    service = reply["producer"][1]
    # The route, already while the view runs (the span is renamed only at the response).
    assert reply["producer"] == ["request", service, "GET /shop/<int:pk>/buy/"]
    assert producers.current() is None  # outside the request: none


def test_the_header_is_checked() -> None:
    value = producers.encode(("task", "worker", "shop/tasks/a"))
    assert producers.decode(value) == ("task", "worker", "shop/tasks/a")
    for bad in (None, "", "[1, 2]", "not json", '["bogus", "s", "n"]', '["task", "", "n"]',
                ["request", "web", "GET /x/"]):
        expected = ("request", "web", "GET /x/") if isinstance(bad, list) else None
        assert producers.decode(bad) == expected


def test_counting_rules_and_memory_in_a_test_run() -> None:
    counts = edges.EdgeCounts()
    attrs = producers.attributes(("request", "web", "POST /upload/"))
    end = 120 * 10**9
    counts.add(attrs, "shop/tasks/transcode", "worker", end, is_error=False)
    counts.add({**attrs, edges.RETRY_REASON: "backend down"}, "shop/tasks/transcode", "worker",
               end, is_error=False)
    counts.add(attrs, "shop/tasks/transcode", "worker", end, is_error=True)
    counts.add({}, "shop/tasks/transcode", "worker", end, is_error=True)  # no producer
    edges.memory_edges.clear()
    assert counts.flush(memory=True)
    key = ("request", "web", "POST /upload/", "shop/tasks/transcode", "worker")
    assert edges.memory_edges.totals == {key: [2, 1, 1]}  # 2 tasks, 1 failed, 1 retry
    edges.memory_edges.clear()


@pytest.mark.django_db
def test_writes_add_up_and_a_failed_write_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    from django_tracekit.storage.usage_models import TaskEdge

    store.clear_cache()
    minute = int(time.time()) // 60
    key = ("request", "web", "POST /upload/", "shop/tasks/transcode", "worker", minute)
    counts = edges.EdgeCounts()
    attrs = producers.attributes(key[:3])

    def fail(increments: Any) -> int:
        raise RuntimeError("database down")

    monkeypatch.setattr(edges, "write", fail)
    counts.add(attrs, key[3], key[4], minute * 60 * 10**9, is_error=True)
    assert not counts.flush(memory=False)  # kept for the next flush
    monkeypatch.undo()
    counts.add(attrs, key[3], key[4], minute * 60 * 10**9, is_error=False)
    assert counts.flush(memory=False)
    edges.write({key: [3, 0, 1]})
    day = TaskEdge.objects.get(resolution=86400)
    assert (day.calls, day.errors, day.retries) == (5, 1, 1)
    assert TaskEdge.objects.filter(resolution=3600).count() == 1
    store.clear_cache()
