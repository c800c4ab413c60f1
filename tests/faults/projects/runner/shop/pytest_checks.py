"""The project's own pytest-django tests."""

import threading
from collections.abc import Iterator

import pytest
from django.test import Client

from django_tracekit import testing as tracekit_testing


@pytest.fixture
def spans() -> Iterator[tracekit_testing.CapturedSpans]:
    with tracekit_testing.capture_spans() as captured:
        yield captured


def test_no_background_stats_writer() -> None:
    assert [t for t in threading.enumerate() if t.name == "tracekit-flush"] == []


@pytest.mark.django_db
def test_spans_and_counts(client: Client, spans: tracekit_testing.CapturedSpans) -> None:
    with tracekit_testing.capture_stats() as usage:
        for _ in range(4):
            assert client.get("/orders/").status_code == 200
    assert usage.calls("GET /orders/", "request") == 4
    assert len(spans.all_named("GET /orders/")) == 4


@pytest.mark.django_db
@pytest.mark.parametrize("n", range(30))
def test_traffic(client: Client, n: int) -> None:
    for _ in range(5):
        assert client.get("/orders/").status_code == 200
