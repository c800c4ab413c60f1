"""Views whose latency, errors, users and N+1 the audit chooses, and the clock that
measures each request inside its tracekit span (the truth the admin is compared with)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from celery.result import AsyncResult
from django.contrib.auth.models import Group, User
from django.http import HttpRequest, HttpResponse, JsonResponse
from opentelemetry import trace

import django_tracekit as tracekit

from . import tasks


class AuditClock:
    """Right inside TracekitMiddleware's span: the time from the span's start to the
    response (µs, a lower bound of the span's duration), its start (epoch µs), trace id and
    process in response headers; the span for the WSGI wrapper (project/wsgi.py)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        span = trace.get_current_span()
        # From the span's own start (epoch ns): only the span's ending is not in the truth.
        start_ns = getattr(span, "start_time", None) or time.time_ns()
        request.environ["tk_audit.span"] = span
        response = self.get_response(request)
        response["X-Audit-Us"] = str((time.time_ns() - start_ns) // 1000)
        response["X-Audit-Start"] = str(start_ns // 1000)
        response["X-Audit-Trace"] = f"{span.get_span_context().trace_id:032x}"
        response["X-Audit-Pid"] = str(os.getpid())
        return response


class PaymentDeclined(RuntimeError):
    pass


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def sleep(request: HttpRequest) -> HttpResponse:
    time.sleep(float(request.GET["ms"]) / 1000)
    return HttpResponse("slept")


def pay(request: HttpRequest) -> HttpResponse:
    if request.GET.get("fail"):
        raise PaymentDeclined("card declined")
    return HttpResponse("paid")


def me(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(request.user.pk))  # loads the user: enduser.id


@tracekit.traced
def load_catalog(size: int) -> int:
    # Two statements, each run `size` (>= N_PLUS_ONE) times: two N+1 occurrences.
    found = sum(User.objects.filter(pk=i).exists() for i in range(size))
    return found + sum(Group.objects.filter(pk=i).exists() for i in range(size))


def catalog(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(load_catalog(6)))


def enqueue(request: HttpRequest, name: str) -> JsonResponse:
    task = {"ok": lambda: tasks.ok.delay(), "flaky": lambda: tasks.flaky.delay(2),
            "doomed": lambda: tasks.doomed.delay()}[name]()
    return JsonResponse({"id": task.id})


def done(request: HttpRequest) -> JsonResponse:
    """How many of the given task ids reached a final state."""
    ids = request.GET.get("ids", "").split(",")
    return JsonResponse({"done": sum(AsyncResult(i).ready() for i in ids if i)})
