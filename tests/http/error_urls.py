"""Views that fail through tracekit's wrappers: the view span, ``@traced``, a SQL query."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path

import django_tracekit as tracekit


@tracekit.traced
def charge(order_id: int) -> None:
    raise RuntimeError(f"card declined for {order_id}")


def checkout(request: HttpRequest) -> HttpResponse:
    charge(42)
    return HttpResponse("unreachable")


def report(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table_at_all")
    return HttpResponse("unreachable")


urlpatterns = [path("checkout/", checkout), path("report/", report)]
