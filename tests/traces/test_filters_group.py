"""The trace list's ``?group=``: the kept traces in which an error of that group was raised."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from django_tracekit.core.fingerprint import group_of
from django_tracekit.pages.traces import filters
from django_tracekit.storage.trace_models import Trace, TraceSpan
from tests.stats import urls as views


def test_parse_group() -> None:
    assert filters.parse({"group": " 0123456789ABCDEF "}).group == "0123456789abcdef"
    bad = filters.parse({"group": "not-a-group"})
    assert bad.group == "" and bad.errors == ["An error group is 16 hexadecimal digits."]
    assert "group" not in bad.values


def _trace(trace_id: str, events: str) -> None:
    trace = Trace.objects.create(trace_id=trace_id, start_us=1, end_us=2, root_name="GET /",
                                 services="web", span_count=1, error_count=1,
                                 reasons="error")
    TraceSpan.objects.create(trace=trace, span_id="a" * 16, name="x", kind="internal",
                             service="web", start_us=1, duration_us=1, is_error=True,
                             events=events)


@pytest.mark.django_db
def test_group_selects_its_traces() -> None:
    try:
        views.find_order(4)
    except LookupError as exc:
        fingerprint = group_of(exc).fingerprint
    other = "f" * 16
    for trace_id, group in (("1" * 32, fingerprint), ("2" * 32, other)):
        event = {"name": "exception", "attributes": {"tracekit.error.group": group}}
        _trace(trace_id, json.dumps([event], separators=(",", ":")))
    found = filters.traces(filters.parse({"group": fingerprint}))
    assert [t.trace_id for t in found] == ["1" * 32]
    client = Client()
    client.force_login(User.objects.create_superuser("root"))
    page = client.get(reverse("admin:tracekit_traces"), {"group": "zz"})
    assert page.status_code == 200 and "16 hexadecimal digits" in page.content.decode()
