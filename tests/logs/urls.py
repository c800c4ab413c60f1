"""Views of the in-process request tests (``override_settings(ROOT_URLCONF=...)``)."""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

log = logging.getLogger("tests.logs.views")
log.setLevel(logging.INFO)


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def logged(request: HttpRequest) -> HttpResponse:
    log.debug("below the level")
    log.info("placing order %s", 7)
    return HttpResponse("ok")


async def logged_async(request: HttpRequest) -> HttpResponse:
    log.info("placing order %s asynchronously", 8)
    return HttpResponse("ok")


def handled(request: HttpRequest) -> HttpResponse:
    prices: dict[str, int] = {}
    try:
        prices["missing"]
    except KeyError:
        log.exception("lookup failed, using a default")
    return HttpResponse("default")


def reraised(request: HttpRequest) -> HttpResponse:
    try:
        raise ValueError("broken")
    except ValueError:
        log.exception("giving up")
        raise


def missing(request: HttpRequest) -> HttpResponse:
    raise Http404("no such order")


urlpatterns = [
    path("healthz", healthz),
    path("logged/", logged),
    path("logged-async/", logged_async),
    path("handled/", handled),
    path("reraised/", reraised),
    path("missing/", missing),
]
