"""Views enqueueing tasks; each returns the ids the tests look up in the OTLP receiver."""

from typing import Any

from celery import chain, chord, group
from django.http import HttpRequest, JsonResponse
from opentelemetry import trace

from . import tasks
from .celery import app


def _ids(**extra: Any) -> JsonResponse:
    context = trace.get_current_span().get_span_context()
    return JsonResponse({"trace_id": format(context.trace_id, "032x"),
                         "span_id": format(context.span_id, "016x"), **extra})


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def enqueue(request: HttpRequest) -> JsonResponse:
    result = tasks.process_video.delay(7)
    return _ids(task_id=result.id)


# Simple one-task cases: name -> how to send it.
_RUN = {
    "charge": lambda: tasks.charge.delay(42),
    "flaky": lambda: tasks.flaky.delay(2),
    "lookup": lambda: tasks.lookup.delay("missing"),
    "skip": lambda: tasks.skip.delay(),
    "refuse": lambda: tasks.refuse.delay(),
    "slow": lambda: tasks.slow.delay(30),
    "later": lambda: tasks.slow.apply_async((0,), countdown=3),
    "soft_limited": lambda: tasks.soft_limited.delay(),
    "hard_limited": lambda: tasks.hard_limited.delay(),
    "hard_limited_deaf": lambda: tasks.hard_limited.delay(deaf=True),
    "crash": lambda: tasks.crash.delay(),
    "eta": lambda: tasks.add.apply_async((1, 2), countdown=1),
    "encode": lambda: tasks.encode.apply_async((3,)),
    "fan_out": lambda: tasks.fan_out.delay(3),
    "always_fails": lambda: tasks.always_fails.delay(),
    "quits": lambda: tasks.quits.delay(3),
    "quits_cleanly": lambda: tasks.quits.delay(0),
}


def run(request: HttpRequest, task: str) -> JsonResponse:
    result = _RUN[task]()
    return _ids(task_id=result.id)


def canvas(request: HttpRequest) -> JsonResponse:
    ids = {
        "chain": chain(tasks.add.s(1, 2), tasks.add.s(3)).apply_async().id,
        "group": group(tasks.add.s(i, i) for i in range(2)).apply_async().id,
        "chord": chord([tasks.add.s(i, 1) for i in range(2)])(tasks.total.s()).id,
        "signature": tasks.encode.si(5).apply_async().id,
    }
    return _ids(**ids)


def send_by_name(request: HttpRequest) -> JsonResponse:
    registered_here = "remote.resize" in app.tasks
    result = app.send_task("remote.resize", args=(640,))
    # Published after send_task: must still be a child of the view span (no leaked context).
    after = tasks.encode.delay(1)
    return _ids(task_id=result.id, after_id=after.id, registered_here=registered_here)


def revoke(request: HttpRequest, task_id: str) -> JsonResponse:
    terminate = request.GET.get("terminate") == "1"
    app.control.revoke(task_id, terminate=terminate)
    return JsonResponse({"revoked": task_id, "terminate": terminate})


def state(request: HttpRequest, task_id: str) -> JsonResponse:
    return JsonResponse({"state": app.AsyncResult(task_id).state})


def batch(request: HttpRequest, count: int) -> JsonResponse:
    ids = [tasks.encode.delay(i).id for i in range(count)]
    return _ids(task_ids=ids)
