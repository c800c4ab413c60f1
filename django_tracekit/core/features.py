"""Which feature a span stands for, decided in one place for the stats, Sentry and the
trace store: requests (SERVER spans: the route), tasks (CONSUMER spans, and tracekit's
spans of a Celery task), commands (tracekit's root span of a ``manage.py`` command, marked
with :data:`FEATURE_KIND`) and functions (tracekit's own INTERNAL spans: ``span()``,
``@traced``, auto-tracing, view spans). Other spans (SQL, cache and HTTP-client CLIENT
spans, template spans, a library's INTERNAL spans) stand for no feature.

Whose feature: the naming convention prefixes only the project's own code with
``PROJECT_NAME`` (``naming``); code outside the project (Django's admin views, a library's
task or command) is named by its own top package. :func:`outside_project` tells such names
apart, so the usage pages list the team's features by default and the rest on request."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.trace import SpanKind

from django_tracekit.core.tracer import INSTRUMENTATION_NAME

REQUEST, TASK, COMMAND, FUNCTION = "request", "task", "command", "function"
KINDS = (REQUEST, TASK, COMMAND, FUNCTION)
# Where features beyond the cardinality cap go (like OTel metrics' overflow series): the
# stats and the metrics both fold into it.
OTHER_FEATURE = "(other)"
#: Attribute a tracekit INTERNAL span carries when it stands for an entry point other than
#: a function (``"command"``), or for no feature (:data:`NO_FEATURE`: a template's render):
#: the integration that makes the span decides, not its name.
FEATURE_KIND = "tracekit.feature.kind"
NO_FEATURE = "none"

_SERVER, _CONSUMER, _INTERNAL = SpanKind.SERVER, SpanKind.CONSUMER, SpanKind.INTERNAL

#: Appended to a request's method when no route matches its path (404s; a request a
#: middleware answered early is named by the route its path resolves to): one clear
#: feature. The span keeps the semconv name.
UNMATCHED = " (unmatched)"


def feature_kind(kind: SpanKind | None, scope_name: str | None,
                 attributes: Mapping[str, Any] | None) -> str | None:
    """``request``, ``task``, ``function``, or ``None`` for a span that names no feature."""
    if kind is _INTERNAL:
        if scope_name != INSTRUMENTATION_NAME:
            return None
        if attributes is not None:
            if attributes.get("messaging.system") == "celery":
                return TASK
            marked = attributes.get(FEATURE_KIND)
            if marked == COMMAND:
                return COMMAND
            if marked == NO_FEATURE:
                return None
        return FUNCTION
    if kind is _SERVER:
        return REQUEST
    if kind is _CONSUMER:
        return TASK
    return None


def feature_name(name: str, kind: str | None, attributes: Mapping[str, Any] | None) -> str:
    """The feature a span of ``kind`` (:func:`feature_kind`) stands for: its name, except a
    request no route matched, whose span is named just ``GET`` (HTTP semconv)."""
    if (kind == REQUEST and attributes and "http.route" not in attributes
            and "http.request.method" in attributes and " " not in name):
        return name + UNMATCHED
    return name


def span_name(feature: str) -> str:
    """The span name a feature's spans carry (the inverse of :func:`feature_name`)."""
    return feature.removesuffix(UNMATCHED)


_TOP_PACKAGE = re.compile(r"^[A-Za-z_]\w*$")
#: Names recorded before code outside the project lost the prefix
#: (``shop/django/contrib/...``): still not the team's.
_NEVER_PROJECT_SEGMENTS = ("django", "django_tracekit")


def outside_project(names: Iterable[str], project: str) -> list[str]:
    """The name prefixes (``"django/"``, ``"rest_framework/"``) under which ``names`` holds
    code outside the project: a first segment that is an importable top package living
    outside the project (``project.outside``). Requests (``GET /x/``), names of
    the project's code (``shop/...``) and names of unknown modules are the team's."""
    from django_tracekit.core.project import outside

    tops: set[str] = set()
    for name in names:
        top, slash, rest = name.partition("/")
        if slash and _TOP_PACKAGE.match(top):
            if top == project:
                second = rest.partition("/")[0]
                if second in _NEVER_PROJECT_SEGMENTS:
                    tops.add(f"{top}/{second}")
            else:
                tops.add(top)
    return sorted(f"{top}/" for top in tops
                  if "/" in top or outside(top))
