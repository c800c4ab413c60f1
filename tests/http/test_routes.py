"""Server span names and ``http.route`` for product-level grouping: i18n_patterns routes
are one route whatever the language; a request a middleware answered early is named by
the route its path resolves to; unmatched requests keep the semconv name (``GET``) and no
``http.route`` (the stats name them ``GET (unmatched)``)."""

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


@override_settings(ROOT_URLCONF="tests.http.drf_urls")
def test_regex_routes_read_as_routes(spans: Spans) -> None:
    """DRF's DefaultRouter makes regex routes; they are named like path() routes."""
    client = Client()
    for path in ("/api/v2/", "/api/v2/routine/", "/api/v2/routine/7/",
                 "/api/v2/routine/7/stats/", "/api/v2/routine/7.json", "/legacy/2024/5/",
                 "/feed.xml", "/files/a/b.txt"):
        assert client.get(path).status_code == 200, path
    assert [name for name, _route in _server_spans(spans)] == [
        "GET /api/v2/",
        "GET /api/v2/routine/",
        "GET /api/v2/routine/<pk>/",
        "GET /api/v2/routine/<pk>/stats/",
        "GET /api/v2/routine/<pk>.<format>",
        "GET /legacy/<year>/<arg1>/",
        "GET /feed.xml",
        "GET /files/.*",
    ]
    assert ("GET /api/v2/routine/<pk>/stats/", "/api/v2/routine/<pk>/stats/") in (
        _server_spans(spans))


@pytest.mark.parametrize(("route", "readable"), [
    (r"^api/v2/routine/(?P<pk>[^/.]+)/stats/$", "api/v2/routine/<pk>/stats/"),
    (r"^x/(?P<a>(foo|bar))/$", "x/<a>/"),  # nested groups inside a parameter
    (r"^x/(?P<c>[)(]+)/$", "x/<c>/"),  # parentheses in a character class
    (r"^a/(\d+)/(?:edit/)?$", r"a/(\d+)/(?:edit/)?"),  # an optional part: two routes
    (r"^(?i)shop/$", "(?i)shop/"),  # inline flags: left as they are
    (r"^a|b$", "a|b"),
    ("orders/<int:pk>/", "orders/<int:pk>/"),  # path() routes are untouched
    (r"^p/(?P<pk>\d+)?/?$", "p/<pk>"),
])
def test_readable_route(route: str, readable: str) -> None:
    from django_tracekit.sources.http.routes import readable_route

    assert readable_route(route) == readable


@override_settings(ROOT_URLCONF="tests.http.i18n_unprefixed_urls",
                   MIDDLEWARE=["django_tracekit.middleware.TracekitMiddleware",
                               "tests.http.early_middleware.LoginWall"])
def test_a_request_a_middleware_answered_is_named_by_the_route_it_asked_for(
        spans: Spans) -> None:
    """A login redirect for a real page is a call of that page's route (302), not one of
    ``GET (unmatched)``, which then holds only what no route matches (trial: DefectDojo)."""
    client = Client()
    assert client.get("/health/").status_code == 302  # answered before URL resolution
    assert client.get("/nowhere/").status_code == 302
    assert client.get("/health/", HTTP_X_USER="7").status_code == 200
    assert _server_spans(spans) == [("GET /health/", "/health/"), ("GET", None),
                                    ("GET /health/", "/health/")]
