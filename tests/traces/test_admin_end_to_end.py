"""Real requests through the middleware -> the trace store's processor -> its database
writer -> the explorer's pages: what the store really writes (events, the error reference,
attributes) is what the pages show."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from django_tracekit.destinations.traces.processor import TraceStoreProcessor
from django_tracekit.storage.trace_models import Trace

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.stats.urls")]


def test_a_failed_request_opens_with_its_stack(store_processor: TraceStoreProcessor) -> None:
    client = Client(raise_request_exception=False)
    assert client.get("/orders/3/").status_code == 200
    assert client.get("/fail/").status_code == 500
    assert store_processor.flush()
    failed = Trace.objects.get(root_name="GET /fail/")

    client.force_login(User.objects.create_superuser("root"))
    listed = client.get(reverse("admin:tracekit_traces"), {"status": "error"}).content.decode()
    assert re.findall(r'data-trace="(\w+)"', listed) == [failed.trace_id]
    everything = client.get(reverse("admin:tracekit_traces")).content.decode()
    assert len(re.findall(r'data-trace="(\w+)"', everything)) == 2

    page = client.get(reverse("admin:tracekit_trace", args=[failed.trace_id]))
    assert page.status_code == 200
    text = page.content.decode()
    names = re.findall(r'data-depth="(\d+)"[^>]*data-name="([^"]*)"', text)
    assert names[0] == ("0", "GET /fail/")
    assert ("1", "tests/stats/urls/fail") in names  # the view's span, under the request
    # The stack is on the span that recorded the error (open on load); the other error
    # span (the error passed through it) links to it instead of holding a copy.
    rows = {re.search(r'id="span-(\w+)"', row).group(1): row  # type: ignore[union-attr]
            for row in re.split(r'(?=<div class="tk-span[ "])', text)[1:]}
    holders = [sid for sid, row in rows.items() if "<details open>" in row]
    assert len(holders) == 1
    (holder,) = holders
    assert re.search(r'<template class="tk-raw-stack">Traceback \(most recent call last\):'
                     r'\n[^<]*in fail\n[^<]*RuntimeError: kaboom</template>', rows[holder])
    # The view's frame is the team's (under BASE_DIR, tests/): marked, path relative to it.
    assert re.search(r'<span class="tk-frame tk-frame-team"[^>]*>  File &quot;'
                     r'stats/urls.py&quot;, line \d+, in fail</span>', rows[holder])
    assert "library frames</summary>" in rows[holder]  # Django's own, folded
    others = [row for sid, row in rows.items() if sid != holder and "tk-span-error" in row]
    assert others  # the request and the view both failed
    for row in others:
        assert f'href="#span-{holder}" class="tk-mono tk-jump"' in row
        assert 'class="tk-stack"' not in row
    # One incident, however many spans it passed through.
    assert re.search(r'id="tk-error-count">1<', text)
    assert re.search(r'id="tk-outcome">failed<', text)
    assert "http.route" in text  # the request's attributes table


def test_a_500_answering_a_caught_exception_is_one_incident(
        store_processor: TraceStoreProcessor) -> None:
    """The exception raised in a traced function, caught, logged and answered with a 500:
    the request span's ERROR (from its status) is that incident's consequence, not a
    second error; a 5xx with no exception is one incident of its own. The list and the
    trace page say the same."""
    client = Client(raise_request_exception=False)
    assert client.get("/handled/7/").status_code == 500
    assert client.get("/unavailable/").status_code == 503
    assert store_processor.flush()
    handled = Trace.objects.get(root_name="GET /handled/<int:pk>/")
    unavailable = Trace.objects.get(root_name="GET /unavailable/")

    client.force_login(User.objects.create_superuser("root"))
    for trace in (handled, unavailable):
        text = client.get(reverse("admin:tracekit_trace", args=[trace.trace_id])).content.decode()
        assert re.search(r'id="tk-error-count">1<', text), trace.root_name
        assert re.search(r'id="tk-outcome">failed<', text), trace.root_name
    listed = client.get(reverse("admin:tracekit_traces"), {"status": "error"}).content.decode()
    rows = re.split(r'(?=data-trace=")', listed)[1:]
    assert {re.match(r'data-trace="(\w+)"', r).group(1) for r in rows} == {  # type: ignore[union-attr]
        handled.trace_id, unavailable.trace_id}
    for row in rows:  # "failed", and no "2 errors" beside it
        assert "tk-status-failed" in row and "tk-incidents" not in row
