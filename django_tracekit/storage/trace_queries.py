"""What the stored spans say about a trace, asked by the trace store's status (write side)
and by the trace pages (read side): one definition, so both count the same traces.

An **entry point** is where a process starts work for the trace: the root span (no parent),
a server span (a request) or a consumer span (a Celery task run). It *failed* when one of
them has ERROR status, except an attempt Celery retried (``celery.state`` ``RETRY``) and a
run that succeeded (``SUCCESS``: it recorded an error, ``logger.exception``, and returned).
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from django_tracekit.storage.trace_models import TraceSpan

ENTRY_KINDS = ("server", "consumer")
CELERY_STATE = "celery.state"
RETRY_STATE = "RETRY"
# A substring of the stored attribute JSON (compact: ``,`` and ``:`` without spaces, see the
# trace store's rows.py), for SQL filters.
RETRY_STATE_JSON = f'"{CELERY_STATE}":"{RETRY_STATE}"'
# A task run that succeeded: an error it recorded (``logger.exception``) did not fail it.
SUCCESS_STATE = "SUCCESS"
SUCCESS_STATE_JSON = f'"{CELERY_STATE}":"{SUCCESS_STATE}"'


def entry_failed() -> Exists:
    """A trace (the outer query's row) whose entry point failed: an error span that is a
    root, a request or a task run, not an attempt Celery retried."""
    return Exists(TraceSpan.objects.filter(
        Q(parent_span_id="") | Q(kind__in=ENTRY_KINDS), trace_id=OuterRef("pk"),
        is_error=True).exclude(attributes__contains=RETRY_STATE_JSON).exclude(
        attributes__contains=SUCCESS_STATE_JSON))
