"""Error groups end to end in one process: requests -> listener -> flush -> rows."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from django_tracekit.destinations.stats import store
from django_tracekit.destinations.stats.processor import StatsProcessor
from django_tracekit.storage.usage_models import ErrorGroup, ErrorGroupBucket, ErrorGroupExample

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.stats.urls")]


def test_one_group_per_type_and_location_exact_counts(stats_processor: StatsProcessor) -> None:
    client = Client(raise_request_exception=False)
    for pk in (4, 7, 7):
        assert client.get(f"/missing/{pk}/").status_code == 500
    assert client.get("/fail/").status_code == 500
    assert stats_processor.flush()

    groups = {g.type: g for g in ErrorGroup.objects.all()}
    assert set(groups) == {"tests.stats.urls.OrderMissing", "RuntimeError"}
    missing = groups["tests.stats.urls.OrderMissing"]
    # Raised in find_order, passing through the view span and the server span: counted
    # once per request, where it was raised.
    assert missing.location == "tests/stats/urls/find_order"
    assert missing.count == 3
    assert missing.first_seen <= missing.last_seen
    by_feature = {(b.feature.name, b.resolution): b.count
                  for b in ErrorGroupBucket.objects.filter(group=missing).select_related(
                      "feature")}
    assert by_feature == {("GET /missing/<int:pk>/", 3600): 3,
                          ("GET /missing/<int:pk>/", 86400): 3}
    messages = sorted(ErrorGroupExample.objects.filter(group=missing).values_list(
        "message", flat=True))
    assert messages == ["order 4 not found", "order 7 not found", "order 7 not found"]
    example = ErrorGroupExample.objects.filter(group=missing).first()
    assert example is not None and len(example.trace_id) == 32
    assert "in find_order" in example.stacktrace


def test_counts_add_up_over_flushes(stats_processor: StatsProcessor) -> None:
    client = Client(raise_request_exception=False)
    for round_ in range(3):
        for pk in range(round_ + 1):
            client.get(f"/missing/{pk}/")
        assert stats_processor.flush()
    group = ErrorGroup.objects.get(location="tests/stats/urls/find_order")
    assert group.count == 6
    assert sum(ErrorGroupBucket.objects.filter(group=group, resolution=3600)
               .values_list("count", flat=True)) == 6
    # A few examples per group, the newest.
    assert ErrorGroupExample.objects.filter(group=group).count() == 5


def test_recent_errors_print_the_type_once(stats_processor: StatsProcessor,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    handed: list[Any] = []

    def writer(increments: Any, errors: Any) -> int:
        handed.extend(errors)
        return store.write(increments, errors)

    monkeypatch.setattr(stats_processor, "_writer", writer)
    Client(raise_request_exception=False).get("/missing/3/")
    assert stats_processor.flush()
    # The server span only carries the error (its stack is on find_order's span): its
    # sample's message is the message, not "Type: message".
    (server,) = [e for e in handed if e.feature == "GET /missing/<int:pk>/"]
    assert server.type == "tests.stats.urls.OrderMissing"
    assert server.message == "order 3 not found"


def test_prune_applies_the_retention() -> None:
    import time
    from io import StringIO

    from django.core.management import call_command

    from django_tracekit.core.fingerprint import Group
    from django_tracekit.destinations.stats import groups_store
    from django_tracekit.destinations.stats.groups import Example, GroupBatch, Occurrence

    now = int(time.time()) // 60
    old = Group("0a" * 8, "ValueError", "tests/old", "", 0)
    recent = Group("0b" * 8, "ValueError", "tests/recent", "", 0)
    for group, minute in ((old, now - 100 * 1440), (recent, now - 40 * 1440)):
        groups_store.write(GroupBatch(
            counts={(group.fingerprint, "GET /x/", "request", "web", minute): 3},
            groups={group.fingerprint: group},
            examples=[Example(group.fingerprint, "GET /x/", "request", "web",
                              Occurrence(group, minute * 60 * 10**9, "m", "", "", ""))]))
    call_command("tracekit_prune", "--no-analyze", stdout=StringIO())
    # 100 days: beyond the 90-day retention, gone whole; 40 days: its day rows stay (the
    # hour rows are kept 35 days), and so does the group with its count.
    assert list(ErrorGroup.objects.values_list("fingerprint", flat=True)) == [recent.fingerprint]
    assert list(ErrorGroupBucket.objects.values_list("resolution", "count")) == [(86400, 3)]
    assert ErrorGroupExample.objects.count() == 1
