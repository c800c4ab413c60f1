"""A view that enqueues a task (``?task=charge`` fails in the worker), optionally slow."""

import time

from django.http import HttpRequest, JsonResponse
from opentelemetry import trace

from tests.celery.project import tasks


def order(request: HttpRequest) -> JsonResponse:
    time.sleep(float(request.GET.get("sleep", "0")))
    task = tasks.charge if request.GET.get("task") == "charge" else tasks.encode
    result = task.delay(7)
    context = trace.get_current_span().get_span_context()
    return JsonResponse({"trace_id": format(context.trace_id, "032x"), "task_id": result.id})
