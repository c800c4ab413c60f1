import json
import sys

from django.http import HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View

from shop import asyncwork, deep, early, fastpath, lazy, services
from shop.guards import audited, passes


def scenario(request, name):
    result = SCENARIOS[name]()
    return HttpResponse(json.dumps(result, default=str), content_type="application/json")


def _py312():
    if sys.version_info < (3, 12):
        return "skipped"
    from shop import py312

    return [py312.first([1, 2]), py312.Box(3).get()]


def _send_task():
    # Imported here: the project runs without Celery installed (the core test profile).
    from shop import tasks
    from shop.celery import app  # noqa: F401 - the app the task is sent with

    tasks.process.delay(1)
    return "sent"


def _fast_calls():
    for i in range(100):
        services.fast(i)
        services.fast_helper(i)
        fastpath.hot(i)
        early.early_function()
    return "ok"


SCENARIOS = {
    "checkout": lambda: services.Checkout.build([1, 2]).run(),
    "decorated": lambda: [services.decorated(1), len(services.REGISTRY)],
    "recurse": lambda: services.recurse(3),
    "error": lambda: services.outer_error(),
    "with_span": lambda: services.with_span(),
    "generator": lambda: services.consume(),
    "async": lambda: asyncwork.run(),
    "getattr": lambda: lazy.computed_value,
    "pulled_back": lambda: [services.pulled_back(1), services.PulledBack().method(),
                            services.pulled_back_by_alias()],
    "py312": _py312,
    "fast_calls": _fast_calls,
    "subclasses": lambda: list(services.Base.kinds),
    "celery": lambda: _send_task(),
}


def counts(request):
    from django_tracekit.sources.autotrace import counters

    return JsonResponse({k: list(v) for k, v in counters.drain().items()})


def status(request):
    from django.core.checks import run_checks

    from django_tracekit.sources import autotrace
    from django_tracekit.sources.autotrace import state
    from django_tracekit.sources.autotrace.checks import check_autotrace

    current = state()
    return JsonResponse({
        "imported_before": current.imported_before if current else None,
        "fallbacks": [m for m, _ in current.fallbacks] if current else None,
        "checks": sorted(m.id for m in check_autotrace()),
        "deep_traced": autotrace.is_instrumented(deep.deep),
        "deep_works": deep.deep(1),
        "services_traced": autotrace.is_instrumented(services.fast),
        "registry_is_instrumented": autotrace.is_instrumented(services.REGISTRY[0]),
        "check_ids": sorted(m.id for m in run_checks() if m.id.startswith("django_tracekit.W03")),
    })


def healthz(request):
    return HttpResponse("ok")


# Views wrapped in the project's own decorators (shop.guards). Each sleeps SLOW: counted
# twice or given a second span of the view's name, it would show.


@audited
def audited_view(request):
    services.slow(1)
    return HttpResponse("audited")


@passes(lambda request: "deny" not in request.GET)
@audited
def guarded_view(request):
    services.slow(1)
    return HttpResponse("guarded")


class AuditedHandler(View):
    @method_decorator(audited)
    def get(self, request):
        services.slow(1)
        return HttpResponse("handler")


@method_decorator(passes(lambda request: True), name="dispatch")
class GuardedDispatch(View):
    def get(self, request):
        services.slow(1)
        return HttpResponse("dispatch")
