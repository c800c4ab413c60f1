"""A tiny app for the end-to-end stats and trace tests: routes, a traced helper, an N+1,
the admin."""

import logging

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import path

import django_tracekit as tracekit


@tracekit.traced
def load_order(pk: int) -> str:
    return f"order {pk}"


def order(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse(load_order(pk))


def me(request: HttpRequest) -> HttpResponse:
    # Loads the user (as most views of a logged-in site do): the request gets enduser.id.
    return HttpResponse(str(request.user.pk))


def fail(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("kaboom")


class OrderMissing(LookupError):
    pass


def find_order(pk: int) -> str:
    raise OrderMissing(f"order {pk} not found")


def missing(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse(find_order(pk))  # one raise location, a message per order


@tracekit.traced
def charge(pk: int) -> None:
    raise ValueError(f"card {pk} declined")


def handled(request: HttpRequest, pk: int) -> HttpResponse:
    # As DRF's handle_exception in many projects (Plane's): the exception is caught,
    # logged with its stack and answered with a 500, never re-raised.
    try:
        charge(pk)
    except ValueError:
        logging.getLogger(__name__).exception("charging failed")
    return HttpResponse("Something went wrong", status=500)


def group_counts(request: HttpRequest) -> HttpResponse:
    # An N+1: one query for the users, then one per user for its groups.
    from django.contrib.auth.models import User

    counts = [len(user.groups.all()) for user in User.objects.order_by("pk")]
    return HttpResponse(str(counts))


def unavailable(request: HttpRequest) -> HttpResponse:
    return HttpResponse("down for maintenance", status=503)  # a 5xx with no exception


urlpatterns = [
    path("admin/", admin.site.urls),
    path("orders/<int:pk>/", order),
    path("fail/", fail),
    path("missing/<int:pk>/", missing),
    path("me/", me),
    path("handled/<int:pk>/", handled),
    path("unavailable/", unavailable),
    path("group-counts/", group_counts),
]
