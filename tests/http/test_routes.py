"""Server span names and ``http.route`` for product-level grouping: i18n_patterns routes
are one route whatever the language; unmatched requests keep the semconv name (``GET``)
and no ``http.route`` (the stats name them ``GET (unmatched)``)."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from tests.conftest import Spans

pytestmark = pytest.mark.django_db

I18N = {
    "LANGUAGES": [("en", "English"), ("de", "German"), ("pt-br", "Português")],
    "LANGUAGE_CODE": "en",
    "USE_I18N": True,
    "MIDDLEWARE": ["django_tracekit.middleware.TracekitMiddleware",
                   "django.contrib.sessions.middleware.SessionMiddleware",
                   "django.middleware.locale.LocaleMiddleware",
                   "django.middleware.common.CommonMiddleware"],
}


def _server_spans(spans: Spans) -> list[tuple[str, object]]:
    return [(s.name, (s.attributes or {}).get("http.route")) for s in spans.all()
            if s.kind.name == "SERVER"]


@override_settings(ROOT_URLCONF="tests.http.i18n_urls", **I18N)
def test_language_prefixes_make_one_route(spans: Spans) -> None:
    client = Client()
    for path in ("/en/shop/orders/1/", "/de/shop/orders/2/", "/pt-br/shop/orders/3/"):
        assert client.get(path).status_code == 200, path
    assert _server_spans(spans) == [("GET /shop/orders/<int:pk>/", "/shop/orders/<int:pk>/")] * 3
    spans.clear()
    # A literal path segment that looks like a language, and routes outside i18n_patterns.
    assert client.get("/de/shop/en/literal/").status_code == 200
    assert client.get("/health/").status_code == 200
    assert _server_spans(spans) == [("GET /shop/en/literal/", "/shop/en/literal/"),
                                    ("GET /health/", "/health/")]


@override_settings(ROOT_URLCONF="tests.http.i18n_unprefixed_urls", **I18N)
def test_unprefixed_default_language_is_the_same_route(spans: Spans) -> None:
    client = Client()
    assert client.get("/shop/orders/1/").status_code == 200  # English, no prefix
    assert client.get("/de/shop/orders/1/").status_code == 200
    assert _server_spans(spans) == [("GET /shop/orders/<int:pk>/", "/shop/orders/<int:pk>/")] * 2


@override_settings(ROOT_URLCONF="tests.http.i18n_urls", **I18N)
def test_unmatched_request_keeps_the_semconv_name_and_no_route(spans: Spans) -> None:
    assert Client().get("/de/nowhere/").status_code == 404
    # Semconv: without a (low-cardinality) route the server span name is the method alone.
    assert _server_spans(spans) == [("GET", None)]
