"""The span vocabulary sources write and destinations and pages read: event and attribute
names, and the context key that turns instrumentation off.

A name lives here when more than one room uses it, so neither side imports the other.
"""

from __future__ import annotations

import logging

from opentelemetry import context as otel_context

logger = logging.getLogger("django_tracekit")

#: The event a parent span gets when it ran one normalized statement ``DB.N_PLUS_ONE``
#: times or more; the stats count one N+1 occurrence per event of a feature's span.
N_PLUS_ONE_EVENT = "tracekit.n_plus_one"
#: The event's attribute: how many times the statement ran under that parent.
N_PLUS_ONE_COUNT = "tracekit.n_plus_one.count"

#: One ``logging`` record on a recording span (the logs source).
LOG_EVENT = "log"
#: On a span that was offered more log records than it keeps: how many were dropped.
LOGS_DROPPED = "tracekit.logs.dropped"

#: Set on a function or class by ``tracekit.no_autotrace``: auto-tracing leaves it alone.
NO_AUTOTRACE_ATTR = "__tracekit_no_autotrace__"


def is_no_autotrace(obj: object) -> bool:
    return bool(getattr(obj, NO_AUTOTRACE_ATTR, False))


#: In the list of instrumented functions a service reports (the "unused code" page): a row
#: named this plus a module says the module was NOT auto-traced in that service (imported
#: before the hook): its functions may run there unobserved, so none of them is "unused".
NOT_AUTOTRACED = "<not auto-traced>/"


#: Set to True at module level in a module (or package ``__init__``: every module under it)
#: that reads or writes tracekit's own tables: the SQL source makes no span of its queries.
OWN_DATA_MARKER = "__tracekit_own_data__"

_SUPPRESS_ATTRIBUTE = "_SUPPRESS_INSTRUMENTATION_KEY"


def _suppress_key() -> str:
    """The context key the SDK's exporters and the contrib instrumentors set and honour.

    A private name with no public accessor in the API (docs/PRIVATE_SEAMS.md). Without it,
    tracekit falls back to a key of its own: its sources still honour tracekit's own
    suppression (its writers, its formatting), but no longer the SDK's exporters'."""
    key = getattr(otel_context, _SUPPRESS_ATTRIBUTE, None)
    if key is None:
        logger.warning(
            "tracekit: this OpenTelemetry has no opentelemetry.context.%s; the queries and "
            "cache calls of OpenTelemetry's own exporters may become spans",
            _SUPPRESS_ATTRIBUTE)
        return "tracekit_suppress_instrumentation"
    return str(key)


#: Nothing is traced while this context key is set (tracekit's sources honour it too).
SUPPRESS_KEY = _suppress_key()
