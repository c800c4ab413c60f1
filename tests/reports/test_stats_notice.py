"""Issue 23 item 3: with the stats off, the usage pages say that nothing is recorded here
and, when metrics are on, where the per-feature numbers go instead."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from tests.stats.test_admin import viewer

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.stats.urls")]


def _usage_page() -> str:
    client = Client()
    client.force_login(viewer())
    response = client.get(reverse("admin:tracekit_usage"), {"range": "1h"})
    assert response.status_code == 200
    return response.content.decode()


def test_no_notice_without_metrics() -> None:
    # The test settings have the stats off (and metrics off): nothing to point at.
    assert 'id="tk-stats-notice"' not in _usage_page()


def test_no_notice_while_the_stats_are_on() -> None:
    with override_settings(TRACEKIT={"METRICS": {"ENABLED": True}}):
        assert 'id="tk-stats-notice"' not in _usage_page()


def test_stats_off_and_metrics_by_remote_write_name_the_endpoint() -> None:
    with override_settings(TRACEKIT={
            "STATS": {"ENABLED": False},
            "METRICS": {"ENABLED": True, "EXPORTER": "prometheus_remote_write",
                        "REMOTE_WRITE_URL": "http://prometheus:9090/api/v1/write?a=1&b=<x>"}}):
        page = _usage_page()
    assert 'id="tk-stats-notice"' in page
    assert "not recorded in this database" in page
    assert "traces.span.metrics.calls" in page
    # The URL is shown escaped, never as markup.
    assert "http://prometheus:9090/api/v1/write?a=1&amp;b=&lt;x&gt;" in page


def test_stats_off_and_metrics_over_otlp_name_the_metrics_endpoint() -> None:
    with override_settings(TRACEKIT={"STATS": {"ENABLED": False},
                                     "OTLP_ENDPOINT": "http://collector:4318",
                                     "METRICS": {"ENABLED": True}}):
        page = _usage_page()
    assert "OTLP http://collector:4318/v1/metrics" in page

