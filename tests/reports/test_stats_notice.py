"""Issue 23 item 3: with the stats off, or ``STATS['KINDS']`` leaving kinds out, the usage
pages say which numbers are not recorded here and, when metrics are on, where they go
instead; the unused-code page does not call functions unused it cannot know about."""

from __future__ import annotations

import html
import re
import time

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import reverse

from django_tracekit.models import Feature
from django_tracekit.storage.usage_models import InstrumentedFunction
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



# -- STATS['KINDS'] leaving kinds out (issue 23 item 3: "turned off for functions") ---------

NO_FUNCTIONS = {"STATS": {"KINDS": ["request", "task", "command"]}}


def _page(name: str, *args: object, **query: str) -> str:
    client = Client()
    client.force_login(User.objects.filter(username="viewer").first() or viewer())
    response = client.get(reverse(name, args=args), {"range": "1h", **query})
    assert response.status_code == 200
    return response.content.decode()


def _notice(page: str) -> str:
    found = re.search(r'id="tk-stats-notice">(.*?)</li>', page, re.S)
    assert found is not None, "no notice"
    return html.unescape(found.group(1))


def _unused_seed() -> tuple[Feature, Feature]:
    now = int(time.time())
    InstrumentedFunction.objects.create(name="shop/billing/never", module="shop.billing",
                                        service="web", first_seen=now - 60, last_seen=now)
    return (Feature.objects.create(name="shop/billing/used", kind="function", service="web"),
            Feature.objects.create(name="GET /bills/", kind="request", service="web"))


def test_functions_left_out_without_metrics_are_counted_nowhere() -> None:
    function, request = _unused_seed()
    with override_settings(TRACEKIT=NO_FUNCTIONS):
        for page in (_usage_page(), _page("admin:tracekit_usage", kind="function"),
                     _page("admin:tracekit_usage_feature", function.pk)):
            text = _notice(page)
            assert text.startswith("Functions: not counted in this database")
            assert "TRACEKIT['STATS']['KINDS'] is request, task, command" in text
            assert "counted nowhere" in text and "traces.span.metrics" not in text
        # A request's own page: its numbers are all here.
        assert 'id="tk-stats-notice"' not in _page("admin:tracekit_usage_feature", request.pk)
        unused = _page("admin:tracekit_unused")
    assert "Functions: not counted in this database" in _notice(unused)
    assert 'id="tk-unused-untold"' in unused and "Cannot tell which functions" in unused
    assert 'data-function="shop/billing/never"' not in unused  # not claimed unused


def test_functions_left_out_with_metrics_say_where_they_go() -> None:
    function, _request = _unused_seed()
    with override_settings(TRACEKIT={**NO_FUNCTIONS, "OTLP_ENDPOINT": "http://collector:4318",
                                     "METRICS": {"ENABLED": True, "KINDS": [
                                         "request", "task", "command", "function"]}}):
        for page in (_page("admin:tracekit_usage", kind="function"),
                     _page("admin:tracekit_usage_feature", function.pk),
                     _page("admin:tracekit_unused")):
            text = _notice(page)
            assert "Functions: calls and durations are exported as metrics" in text
            assert "OTLP http://collector:4318/v1/metrics" in text
            assert "counted nowhere" not in text
    # Metrics on, but their KINDS leave functions out too: counted nowhere.
    with override_settings(TRACEKIT={**NO_FUNCTIONS, "METRICS": {"ENABLED": True}}):
        assert "Functions: not exported as metrics either" in _notice(
            _page("admin:tracekit_unused"))


def test_the_unused_page_lists_functions_while_they_are_counted() -> None:
    _unused_seed()
    with override_settings(TRACEKIT={"STATS": {"KINDS": ["function", "request"]}}):
        page = _page("admin:tracekit_unused")
    assert 'id="tk-stats-notice"' not in page and 'id="tk-unused-untold"' not in page
    assert 'data-function="shop/billing/never"' in page


def test_stats_off_with_metrics_on_the_unused_page_cannot_tell() -> None:
    _unused_seed()
    with override_settings(TRACEKIT={"STATS": {"ENABLED": False},
                                     "METRICS": {"ENABLED": True}}):
        page = _page("admin:tracekit_unused")
    assert "TRACEKIT['STATS'] is off" in _notice(page)
    assert 'id="tk-unused-untold"' in page
    assert 'data-function="shop/billing/never"' not in page


def test_the_errors_page_has_no_kinds_notice() -> None:
    # Error groups are counted whatever STATS['KINDS'].
    with override_settings(TRACEKIT=NO_FUNCTIONS):
        assert 'id="tk-stats-notice"' not in _page("admin:tracekit_errors")
