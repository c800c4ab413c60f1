"""The unused-code page's data: auto-traced functions instrumented in a window that no
service called in it.

A function whose module some service imported before auto-tracing (``NOT_AUTOTRACED`` rows:
a Celery worker imports its app module before Django is set up) may run there unobserved:
it is not called unused, it is listed apart as not observed, with the services."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from django_tracekit.core.vocabulary import NOT_AUTOTRACED
from django_tracekit.pages.shared.usage_rows import window_totals
from django_tracekit.pages.shared.window import Window
from django_tracekit.storage.usage_models import Feature, InstrumentedFunction


def used_names(window: Window) -> set[str]:
    """Names of the features that ran in the window, whatever their kind and service: a
    function runs as a view's span (``function``), a task, a command, a ``django.tasks``
    task or a plain function; each is named by the same code location. A task that only
    retried in the window ran too."""
    ran = {fid for fid, totals in window_totals(window, None).items()
           if totals[0] or totals[5]}
    if not ran:
        return set()
    names: set[str] = set()
    ids = sorted(ran)
    for start in range(0, len(ids), 500):
        names.update(Feature.objects.filter(pk__in=ids[start:start + 500]).values_list(
            "name", flat=True))
    return names


def with_enclosing(names: set[str]) -> set[str]:
    """``names`` and every name enclosing one of them: a function whose nested function ran
    ran too (a middleware factory ``my_middleware`` returns ``middleware``, called on every
    request as ``.../my_middleware/middleware``; ``<locals>`` is not in names)."""
    found = set(names)
    for name in names:
        cut = name.rfind("/")
        while cut > 0:
            name = name[:cut]
            if name in found:
                break  # its enclosing names are in already
            found.add(name)
            cut = name.rfind("/")
    return found


def not_autotraced(window: Window, service: str = "") -> dict[str, list[str]]:
    """{module: services that did not auto-trace it} reported in the window (or since)."""
    rows = InstrumentedFunction.objects.filter(last_seen__gte=window.start,
                                               name__startswith=NOT_AUTOTRACED)
    if service:
        rows = rows.filter(service=service)
    found: dict[str, list[str]] = {}
    for module, service_ in rows.order_by("module", "service").values_list("module",
                                                                           "service"):
        found.setdefault(module, []).append(service_)
    return found


def unused_functions(window: Window, q: str = "", service: str = "",
                     not_observed: dict[str, dict[str, Any]] | None = None,
                     ) -> list[dict[str, Any]]:
    """Auto-traced functions instrumented in the window (or since) that no service called
    in it (nor any function nested in them), by module then name:
    ``{name, module, services, first_seen, last_seen}``.

    A function counts as used when any service called it: a worker imports the views too,
    they are not dead code because the worker never runs them. One of a module some service
    did not auto-trace goes to ``not_observed`` instead (``{module: {services, functions}}``).
    """
    untraced = not_autotraced(window)
    functions = InstrumentedFunction.objects.filter(last_seen__gte=window.start).exclude(
        name__startswith=NOT_AUTOTRACED)
    if q:
        functions = functions.filter(Q(name__icontains=q) | Q(module__icontains=q))
    if service:
        functions = functions.filter(service=service)
    used = with_enclosing(used_names(window))
    unused: dict[str, dict[str, Any]] = {}
    for name, module, service_, first, last in functions.order_by(
            "module", "name", "service").values_list("name", "module", "service",
                                                     "first_seen", "last_seen"):
        if name in used:
            continue
        if module in untraced:
            if not_observed is not None:
                entry = not_observed.setdefault(module, {"services": untraced[module],
                                                         "functions": set()})
                entry["functions"].add(name)
            continue
        row = unused.get(name)
        if row is None:
            unused[name] = {"name": name, "module": module, "services": [service_],
                            "first_seen": first, "last_seen": last}
        else:
            row["services"].append(service_)
            row["first_seen"] = min(row["first_seen"], first)
            row["last_seen"] = max(row["last_seen"], last)
    return list(unused.values())

