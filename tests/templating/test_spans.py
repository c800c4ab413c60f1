"""Template renders as spans: queries a template runs sit under it (an N+1 in a template
points at the template); includes in loops and quick renders add no span."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings
from opentelemetry.sdk.trace import ReadableSpan

from django_tracekit.core.features import feature_kind
from django_tracekit.core.vocabulary import N_PLUS_ONE_COUNT, N_PLUS_ONE_EVENT
from tests.conftest import Spans

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.templating.urls")]

TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates",
              "DIRS": [Path(__file__).resolve().parent / "templates"]}]
CONTENT_TYPE_QUERY = "SELECT django_content_type"


@pytest.fixture(autouse=True)
def templates() -> Iterator[None]:
    with override_settings(TEMPLATES=TEMPLATES):
        yield


def children(spans: Spans, parent: ReadableSpan) -> list[ReadableSpan]:
    assert parent.context is not None
    return [s for s in spans.all()
            if s.parent is not None and s.parent.span_id == parent.context.span_id]


def n_plus_one(span: ReadableSpan) -> list[dict[str, Any]]:
    return [dict(e.attributes or {}) for e in span.events if e.name == N_PLUS_ONE_EVENT]


def test_n_plus_one_in_a_template_is_flagged_on_the_template(spans: Spans) -> None:
    response = Client().get("/permissions/")
    assert response.status_code == 200 and response.content.count(b"<li>") == 12
    server = spans.named("GET /permissions/")
    template = spans.named("template shelf/permissions.html")
    # A TemplateResponse renders after the view returned: under the request's span.
    assert template.parent is not None and server.context is not None
    assert template.parent.span_id == server.context.span_id
    under = [s.name for s in children(spans, template)]
    assert under.count(CONTENT_TYPE_QUERY) == 12 and "SELECT auth_permission" in under
    assert CONTENT_TYPE_QUERY not in [s.name for s in children(spans, server)]
    (flagged,) = n_plus_one(template)
    assert flagged[N_PLUS_ONE_COUNT] == 12 and "django_content_type" in flagged["db.query.text"]
    attributes = template.attributes or {}
    assert attributes["tracekit.template.name"] == "shelf/permissions.html"
    assert str(attributes["code.file.path"]).endswith("templates/shelf/permissions.html")
    # A template is not a feature of its own.
    assert feature_kind(template.kind, template.instrumentation_scope.name,
                        template.attributes) is None


def test_includes_in_a_loop_make_no_spans_and_their_n_plus_one_is_the_templates(
        spans: Spans) -> None:
    assert Client().get("/looped/").status_code == 200
    names = spans.names()
    template = spans.named("template shelf/looped.html")
    # 24 includes in the loop: none is a span; their 12 queries are one N+1 of the page.
    assert "template shelf/_row.html" not in names and "template shelf/_static.html" not in names
    assert [s.name for s in children(spans, template)].count(CONTENT_TYPE_QUERY) == 12
    (flagged,) = n_plus_one(template)
    assert flagged[N_PLUS_ONE_COUNT] == 12
    # The include outside the loop ran a query: its own span, its query under it.
    sidebar = spans.named("template shelf/_sidebar.html")
    assert sidebar.parent is not None and template.context is not None
    assert sidebar.parent.span_id == template.context.span_id
    assert [s.name for s in children(spans, sidebar)] == ["SELECT auth_group"]


def test_a_quick_render_with_nothing_inside_is_no_span(spans: Spans) -> None:
    with override_settings(TRACEKIT={"AUTOTRACE": {"MIN_DURATION_MS": 60_000}}):
        assert Client().get("/quick/").status_code == 200
    assert [n for n in spans.names() if n.startswith("template ")] == []
    spans.clear()
    # As slow as the auto-tracing threshold (0 ms here): kept, a child of the view.
    with override_settings(TRACEKIT={"AUTOTRACE": {"MIN_DURATION_MS": 0}}):
        assert Client().get("/quick/").status_code == 200
    template = spans.named("template shelf/quick.html")
    view = spans.named("tests/templating/urls/quick")
    assert template.parent is not None and view.context is not None
    assert template.parent.span_id == view.context.span_id


def test_an_error_while_rendering_is_recorded_on_the_template(spans: Spans) -> None:
    assert Client(raise_request_exception=False).get("/broken/").status_code == 500
    template = spans.named("template shelf/broken.html")
    assert template.status.status_code.name == "ERROR"
    [event] = [e for e in template.events if e.name == "exception"]
    assert (event.attributes or {})["exception.message"] == "no price list"
    server = spans.named("GET /broken/")
    assert server.status.status_code.name == "ERROR"
    assert not [e for e in server.events if e.name == "exception"]  # recorded once
