"""A view that enqueues a task (``?task=charge`` fails in the worker), optionally slow."""

import time

from django.http import HttpRequest, JsonResponse
from opentelemetry import trace

from tests.celery.project import tasks


def order(request: HttpRequest) -> JsonResponse:
    time.sleep(float(request.GET.get("sleep", "0")))
    task = {"charge": tasks.charge, "charge_and_mark": tasks.charge_and_mark}.get(
        request.GET.get("task", ""), tasks.encode)
    result = task.delay(7)
    context = trace.get_current_span().get_span_context()
    return JsonResponse({"trace_id": format(context.trace_id, "032x"), "task_id": result.id})
