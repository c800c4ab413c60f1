"""The ``n_plus_one`` keep reason: a trace in which an N+1 was flagged is kept, at most one
per feature and 10-minute window (per process, then over every process in the store); the
explorer names the reason and filters on it, and the feature page's SQL table marks the
statement. Real requests through the middleware and the SQL source (SQLite), the trace
store's database writer; two processors' worth (two processes) writing to one database,
on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

from django_tracekit.core.tracer import INSTRUMENTATION_NAME
from django_tracekit.core.vocabulary import N_PLUS_ONE_COUNT, N_PLUS_ONE_EVENT
from django_tracekit.destinations.stats import store as stats_store
from django_tracekit.destinations.traces import keep
from django_tracekit.destinations.traces.processor import TraceStoreProcessor
from django_tracekit.destinations.traces.store import DatabaseWriter
from django_tracekit.storage.trace_models import Trace, TraceSpan
from django_tracekit.storage.usage_models import Feature
from tests.support.race import fresh_database_fixture, race, race_settings

ROUTE = "GET /group-counts/"
WINDOW = keep.WINDOW_NS


def test_the_rule_keeps_the_first_per_feature_and_window() -> None:
    rule = keep.NPlusOneRule()
    t = 10 * WINDOW
    assert rule.take("GET /a/", t)
    assert not rule.take("GET /a/", t + WINDOW - 1)  # the same window
    assert rule.take("GET /b/", t + 1)  # another feature
    assert rule.take("GET /a/", t + WINDOW)  # the next window
    assert not rule.take("GET /a/", t)  # an earlier window, late (clock skew)


def test_the_rule_tracks_a_bounded_number_of_features() -> None:
    rule = keep.NPlusOneRule(max_features=3)
    assert all(rule.take(f"f{i}", WINDOW) for i in range(3))
    assert not rule.take("f-new", WINDOW)  # beyond the bound within the window: not kept
    assert rule.take("f-new", 2 * WINDOW)  # the others' window ended: forgotten


class Process:
    """One process's worth: a provider with a trace store processor writing to the
    database, nothing sampled."""

    def __init__(self, service: str) -> None:
        self.processor = TraceStoreProcessor(DatabaseWriter(), start_thread=False,
                                             sample_rate=0.0)
        self.provider = TracerProvider(resource=Resource.create({"service.name": service}))
        self.provider.add_span_processor(self.processor)
        self.tracer = self.provider.get_tracer(INSTRUMENTATION_NAME)

    def request(self, route: str, n_plus_one: bool) -> str:
        start = time.time_ns()
        root = self.tracer.start_span(route, kind=SpanKind.SERVER, start_time=start,
                                      attributes={"http.route": route.split()[1],
                                                  "http.request.method": "GET"})
        context = root.get_span_context()
        if n_plus_one:  # as the SQL source flags it (tests/db/test_nplusone.py)
            root.add_event(N_PLUS_ONE_EVENT, {"db.query.text": "SELECT 1",
                                              N_PLUS_ONE_COUNT: 7})
        root.end(end_time=start + 1_000_000)
        return format(context.trace_id, "032x")


def _window_of_now_is_not_ending() -> None:
    # Every request of a test must fall in one 10-minute window: wait out its last second.
    while time.time_ns() % WINDOW > WINDOW - 2_000_000_000:
        time.sleep(0.1)


@pytest.mark.django_db
def test_one_trace_per_feature_and_window_over_two_processes() -> None:
    _window_of_now_is_not_ending()
    web, other = Process("web-1"), Process("web-2")
    first = [web.request("GET /a/", n_plus_one=True) for _ in range(3)]
    plain = web.request("GET /c/", n_plus_one=False)
    b = web.request("GET /b/", n_plus_one=True)
    assert web.processor.flush()
    kept = dict(Trace.objects.values_list("trace_id", "reasons"))
    # The first N+1 of each feature; the other two of GET /a/ and the plain request not.
    assert kept == {first[0]: "n_plus_one", b: "n_plus_one"}
    assert plain not in kept
    # Another process keeps its own first of GET /a/: the store has one for the window.
    mine = other.request("GET /a/", n_plus_one=True)
    assert other.processor.flush()
    assert mine not in set(Trace.objects.values_list("trace_id", flat=True))
    assert Trace.objects.filter(root_name="GET /a/").count() == 1


def _n_plus_one_request(client: Client) -> None:
    groups = Group.objects.create(name="staff")
    for i in range(6):  # DB.N_PLUS_ONE is 5: the sixth "groups of a user" query is one more
        User.objects.create(username=f"u{i}").groups.add(groups)
    assert client.get("/group-counts/").status_code == 200


@pytest.mark.django_db
@pytest.mark.urls("tests.stats.urls")
def test_a_real_n_plus_one_request_is_kept_listed_and_filtered(
        store_processor: TraceStoreProcessor) -> None:
    store_processor.sample_threshold = keep.sample_threshold(0.0)  # kept for its N+1 only
    client = Client()
    _n_plus_one_request(client)
    assert client.get("/orders/3/").status_code == 200  # no N+1: not kept
    assert store_processor.flush()
    (kept,) = Trace.objects.all()
    assert (kept.root_name, kept.reasons) == (ROUTE, "n_plus_one")

    client.force_login(User.objects.create_superuser("root"))
    listed = client.get(reverse("admin:tracekit_traces")).content.decode()
    assert re.findall(r'data-reason="(\w*)"[^>]*>([^<]*)<', listed) == [("n_plus_one", "N+1")]
    assert '<option value="n_plus_one">N+1</option>' in listed
    only = client.get(reverse("admin:tracekit_traces"), {"reason": "n_plus_one"})
    assert re.findall(r'data-trace="(\w+)"', only.content.decode()) == [kept.trace_id]
    none = client.get(reverse("admin:tracekit_traces"), {"reason": "slow"})
    assert re.findall(r'data-trace="(\w+)"', none.content.decode()) == []
    page = client.get(reverse("admin:tracekit_trace", args=[kept.trace_id])).content.decode()
    assert 'data-reason="n_plus_one"' in page


@pytest.mark.django_db
@pytest.mark.urls("tests.stats.urls")
def test_the_feature_pages_sql_table_marks_the_n_plus_one_statement(
        store_processor: TraceStoreProcessor) -> None:
    client = Client()
    _n_plus_one_request(client)
    assert store_processor.flush()
    service = TraceSpan.objects.get(name=ROUTE).service
    stats_store.write({(ROUTE, "request", service, int(time.time()) // 60):
                       [1, 0, 10_000, 10_000, {10: 1}]})
    feature = Feature.objects.get(name=ROUTE)
    client.force_login(User.objects.create_superuser("root"))
    page = client.get(reverse("admin:tracekit_usage_feature", args=[feature.pk]),
                      {"range": "1h"}).content.decode()
    rows = re.findall(r'<tr data-statement-location="[^"]*" data-count="(\d+)"'
                      r'(?: data-n-plus-one="(\d+)")?>\s*<td[^>]*>(.*?)</td>', page, re.S)
    by_statement = {re.sub(r"<span.*?</span> ", "", text): (count, n1)
                    for count, n1, text in rows}
    (groups,) = [t for t in by_statement if "auth_group" in t]
    (users,) = [t for t in by_statement if "auth_group" not in t and "auth_user" in t]
    assert by_statement[groups] == ("6", "6")  # ran 6 times, flagged with a count of 6
    assert by_statement[users] == ("1", "")  # ran once: not marked
    assert "N+1 ×6</span>" in page  # noqa: RUF001


WRITER = """
import time
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind
from django_tracekit.core.tracer import INSTRUMENTATION_NAME
from django_tracekit.core.vocabulary import N_PLUS_ONE_COUNT, N_PLUS_ONE_EVENT
from django_tracekit.destinations.traces import keep, store
from django_tracekit.destinations.traces.processor import TraceStoreProcessor

w0 = (time.time_ns() // keep.WINDOW_NS - 1) * keep.WINDOW_NS  # the last window, ended
wait_for_start()
for who in range(2):  # two processes' worth, one after the other
    traces = TraceStoreProcessor(store.database, start_thread=False, sample_rate=0.0)
    provider = TracerProvider(resource=Resource.create({"service.name": f"web-{who}"}))
    provider.add_span_processor(traces)
    tracer = provider.get_tracer(INSTRUMENTATION_NAME)
    for window in range(2):
        for i in range(20):
            start = w0 - (1 - window) * keep.WINDOW_NS + i * 10**9  # the earlier first
            for route in ("/a/", "/b/"):
                root = tracer.start_span("GET " + route, kind=SpanKind.SERVER,
                                         start_time=start, attributes={
                                             "http.route": route,
                                             "http.request.method": "GET"})
                root.add_event(N_PLUS_ONE_EVENT, {"db.query.text": "SELECT 1",
                                                  N_PLUS_ONE_COUNT: 5 + i})
                root.end(end_time=start + 10**6)
        assert traces.flush()
print("done")
"""

SUMMARY = """
import json
from django_tracekit.destinations.traces import keep
from django_tracekit.storage.trace_models import Trace, TraceSpan
# (Ended windows of 20 roots: each process also keeps its slowest as "slow", ranked apart.)
kept = {}
for name, start in Trace.objects.filter(reasons__contains="n_plus_one").values_list(
        "root_name", "start_us"):
    key = f"{name}|{start // keep.WINDOW_US}"
    kept[key] = kept.get(key, 0) + 1
print(json.dumps(sorted(kept.items())))
"""


def _two_processes(vendor: str, name: str) -> None:
    result = race(race_settings(vendor, name), WRITER, [{}], SUMMARY, timeout=240)
    # Two features, two windows, each with one trace (of 40 N+1 requests by 2 processes).
    assert [count for _key, count in result] == [1, 1, 1, 1]
    assert {tuple(key.split("|")[0] for key, _count in result)} == {
        ("GET /a/", "GET /a/", "GET /b/", "GET /b/")}


def test_sqlite_file_keeps_one_per_feature_and_window(tmp_path: Path) -> None:
    _two_processes("sqlite", str(tmp_path / "n_plus_one.sqlite3"))


postgres_db = fresh_database_fixture("postgres", "tracekit_n1")


@pytest.mark.service("postgres")
@pytest.mark.requires("psycopg")
def test_postgres_keeps_one_per_feature_and_window(postgres_db: str) -> None:
    _two_processes("postgres", postgres_db)
