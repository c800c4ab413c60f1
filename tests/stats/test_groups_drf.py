"""DESIGN: an HTTP 4xx is not an error. Real DRF views answering 404, 429, 400 and 403 (and a
Django ValidationError a service raised, answered 400 by the project's exception handler)
make no error group and count no error; the one 500 does (the Styleguide trial had 102 of
125 groups from 4xx)."""

from __future__ import annotations

import pytest
from django.db.models import Sum
from django.test import Client, override_settings

from django_tracekit.destinations.stats.processor import StatsProcessor
from django_tracekit.storage.usage_models import ErrorGroup, Feature, FeatureStats

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.stats.drf_urls")]

ANSWERS = [("get", "/api/missing/", 404), ("get", "/api/throttled/", 429),
           ("post", "/api/invalid/", 400), ("get", "/api/forbidden/", 403),
           ("post", "/api/duplicate/", 400)]


def test_drf_client_errors_are_no_error_groups_and_no_errors(
        stats_processor: StatsProcessor) -> None:
    client = Client(raise_request_exception=False)
    with override_settings(REST_FRAMEWORK={"EXCEPTION_HANDLER": "tests.stats.drf_urls.handle"}):
        for method, url, status in ANSWERS * 2:
            response = getattr(client, method)(url, {"email": "not an email"})
            assert response.status_code == status, (url, response.content)
        assert client.get("/api/broken/").status_code == 500
    assert stats_processor.flush()

    groups = list(ErrorGroup.objects.values_list("type", flat=True))
    assert groups == ["RuntimeError"], groups
    totals = {name: _totals(name) for name in Feature.objects.filter(kind="request")
              .values_list("name", flat=True)}
    assert totals["POST /api/duplicate/"] == (2, 0) and totals["GET /api/missing/"] == (2, 0)
    assert {name: e for name, (_, e) in totals.items() if e} == {"GET /api/broken/": 1}
    # The service that raised the Django ValidationError ran and is counted: its error
    # column says it raised; the request it served was answered 400, not an error.
    assert _totals("tests/stats/drf_urls/user_create")[0] == 2


def _totals(name: str) -> tuple[int, int]:
    feature = Feature.objects.get(name=name)
    sums = FeatureStats.objects.filter(feature=feature, resolution=60).aggregate(
        c=Sum("calls"), e=Sum("errors"))
    return sums["c"] or 0, sums["e"] or 0
