"""A DRF view whose checks (authentication, permissions, throttles) deny the request never
runs its handler: its span, and so the function feature that counts the call, is named
after the view class's ``dispatch``, not ``get``. The Plane trial counted 403s as calls of
``get``. Real DRF views through the middleware (Django's test client)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.conftest import Spans

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.http.drf_denied_urls")]

MODULE = "tests/http/drf_denied_urls"


def view_spans(spans: Spans, route: str) -> list[tuple[str, str]]:
    """(name, code.function.name) of the spans under the request's span."""
    (request,) = [s for s in spans.all() if s.name == f"GET {route}"]
    assert request.context is not None
    return [(s.name, str((s.attributes or {}).get("code.function.name")))
            for s in spans.all()
            if s.parent is not None and s.parent.span_id == request.context.span_id]


def test_a_request_denied_before_the_handler_is_named_after_dispatch(spans: Spans) -> None:
    assert Client().get("/projects/").status_code == 403  # IsAuthenticated, anonymous
    assert view_spans(spans, "/projects/") == [
        (f"{MODULE}/Projects/dispatch", "tests.http.drf_denied_urls.Projects.dispatch")]
    spans.clear()
    assert Client().get("/issues/").status_code == 403  # a ViewSet's action: the same
    assert view_spans(spans, "/issues/") == [
        (f"{MODULE}/Issues/dispatch", "tests.http.drf_denied_urls.Issues.dispatch")]


def test_the_handler_keeps_its_name_when_it_ran(spans: Spans) -> None:
    client = Client()
    client.force_login(User.objects.create_user("member"))
    assert client.get("/projects/").status_code == 200
    assert view_spans(spans, "/projects/") == [
        (f"{MODULE}/Projects/get", "tests.http.drf_denied_urls.Projects.get")]
    spans.clear()
    # The handler denied by itself (an object permission): it ran, the name stays.
    assert client.get("/owned/").status_code == 403
    assert view_spans(spans, "/owned/") == [
        (f"{MODULE}/Owned/get", "tests.http.drf_denied_urls.Owned.get")]
