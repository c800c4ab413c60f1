"""The feature page's SQL from the kept traces: statements below the feature's span ranked by
total time, each with the span (code location) that ran it; only for ``view_trace``."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from django_tracekit.core.vocabulary import N_PLUS_ONE_COUNT, N_PLUS_ONE_EVENT
from django_tracekit.destinations.stats import store
from django_tracekit.pages.usage.statements import ranked
from django_tracekit.storage.usage_models import Feature
from tests.support.traces import SpanSpec, make_trace, span_id, trace_id

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.stats.urls")]

ROUTE = "GET /videos/catalog/"
CHANNEL = 'SELECT "videos_channel"."name" FROM "videos_channel" WHERE "id" = %s'
VIDEOS = 'SELECT "videos_video"."id" FROM "videos_video" LIMIT %s'


def query(n: int, parent: int, text: str, ms: float) -> SpanSpec:
    return SpanSpec("SELECT", span_id(n), span_id(parent), kind="client", duration_ms=ms,
                    attributes={"db.system.name": "sqlite", "db.query.text": text})


def _seed(traces: int) -> None:
    for t in range(traces):
        base = t * 100
        make_trace(trace_id(t), [
            SpanSpec(ROUTE, span_id(base + 1), kind="server", duration_ms=30),
            SpanSpec("shop/videos/views/catalog", span_id(base + 2), span_id(base + 1)),
            query(base + 3, base + 2, VIDEOS, 2.0),
            # Flagged as the SQL source flags it: the event on the span the queries ran in
            # (in two of the traces: the third ran it under the threshold).
            SpanSpec("shop/videos/services/channel_names", span_id(base + 4), span_id(base + 2),
                     events=[{"name": N_PLUS_ONE_EVENT, "time_us": 5_000, "attributes": {
                         "db.query.text": CHANNEL, N_PLUS_ONE_COUNT: 12}}] if t < 2 else []),
            # The N+1: 12 identical statements, cheap one by one, the most in total.
            *[query(base + 10 + i, base + 4, CHANNEL, 0.5) for i in range(12)],
        ])
    # Another feature's trace: none of its SQL is this feature's.
    make_trace(trace_id(999), [
        SpanSpec("GET /other/", span_id(99901), kind="server"),
        query(99902, 99901, "SELECT 1", 50.0)])


def test_statements_are_ranked_by_total_time_with_their_location() -> None:
    _seed(3)
    feature = Feature(name=ROUTE, kind="request", service="shop-web")
    result = ranked(feature)
    assert result["traces"] == 3 and result["queries"] == 3 * 13
    first, second = result["rows"]
    assert (first["statement"], first["location"], first["count"], first["traces"]) == (
        CHANNEL, "shop/videos/services/channel_names", 36, 3)
    assert first["total_us"] == 36 * 500
    assert (first["n_plus_one"], first["n_plus_one_traces"]) == (12, 2)
    assert (second["statement"], second["location"], second["count"]) == (
        VIDEOS, "shop/videos/views/catalog", 3)
    assert (second["n_plus_one"], second["n_plus_one_traces"]) == (0, 0)
    # A function feature: only the SQL below its own spans.
    helper = Feature(name="shop/videos/services/channel_names", kind="function",
                     service="shop-web")
    assert [r["statement"] for r in ranked(helper)["rows"]] == [CHANNEL]
    assert ranked(helper, max_traces=1)["queries"] == 12


def test_the_feature_page_shows_them_to_trace_viewers_only() -> None:
    _seed(2)
    store.write({(ROUTE, "request", "shop-web", int(time.time()) // 60):
                 [2, 0, 60_000_000, 30_000_000, {20: 2}]})
    feature = Feature.objects.get(name=ROUTE)
    url = reverse("admin:tracekit_usage_feature", args=[feature.pk])
    both = User.objects.create_user("both", is_staff=True)
    both.user_permissions.add(*Permission.objects.filter(
        codename__in=("view_feature", "view_trace"), content_type__app_label="django_tracekit"))
    client = Client()
    client.force_login(both)
    page = client.get(url, {"range": "1h"}).content.decode()
    assert 'id="tk-statements"' in page and "From the kept sample" in page
    assert page.index("shop/videos/services/channel_names") < page.index(
        "shop/videos/views/catalog")
    assert 'data-count="24" data-n-plus-one="12"' in page
    assert 'data-count="2">' in page  # the statement that ran once per trace: not marked
    assert "in 2 of 2 kept traces" in page  # the badge's tooltip

    usage_only = User.objects.create_user("usage", is_staff=True)
    usage_only.user_permissions.add(Permission.objects.get(
        codename="view_feature", content_type__app_label="django_tracekit"))
    client.force_login(usage_only)
    page = client.get(url, {"range": "1h"}).content.decode()
    assert 'id="tk-statements"' not in page and "videos_channel" not in page
