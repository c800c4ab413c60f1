"""What happened in a trace, counted once per incident: did an entry point fail, or did the
application handle a failure; how many incidents (one per raising span, however many
enclosing spans carry it); Celery retries (recovered or not).

Shared by the waterfall (built from every span) and the trace list (one query over the
error, retry and N+1 spans of the page's traces), so both say the same.

- An **entry point** is where a process starts work for the trace: the root span (no parent),
  a server span (a request) or a consumer span (a Celery task run). It *failed* when one of
  them has ERROR status — except an attempt Celery retried (``celery.state`` ``RETRY``):
  that one is a retry, told by the retry count; and a task run that succeeded (``SUCCESS``)
  after recording an error (``logger.exception``): that error is an incident, not a failure.
- An **incident** is one error: a span holding ERROR status counts once under the span that
  raised it (its ``tracekit.error.span_id`` reference, else itself): an error that passed
  through 5 spans is one incident.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from django_tracekit.storage import trace_queries

# Entry points and Celery's retry state: one definition with the trace store's status.
ENTRY_KINDS = trace_queries.ENTRY_KINDS
CELERY_STATE = trace_queries.CELERY_STATE
RETRY_STATE = trace_queries.RETRY_STATE
RETRY_STATE_JSON = trace_queries.RETRY_STATE_JSON
SUCCESS_STATE = trace_queries.SUCCESS_STATE
RETRY_REASON = "celery.retry.reason"
CELERY_RETRIES = "celery.retries"
# A substring of the stored attribute JSON (compact) for the list's SQL filters.
RETRY_REASON_JSON = f'"{RETRY_REASON}"'


def is_entry(parent_span_id: str, kind: str) -> bool:
    return not parent_span_id or kind in ENTRY_KINDS


@dataclass
class Outcome:
    entry_failed: bool = False
    incidents: int = 0  # distinct errors (raising spans)
    carriers: int = 0  # error spans that carry another span's error
    retries: int = 0  # attempts Celery retried
    n_plus_one: int = 0  # the largest N+1 count (0: none)

    @property
    def key(self) -> str:
        """``failed``, ``recovered``, ``handled`` or ``ok`` (CSS class, data attribute)."""
        if self.entry_failed:
            return "failed"
        if self.retries:
            return "recovered"
        return "handled" if self.incidents else "ok"

    @property
    def label(self) -> str:
        if self.entry_failed:
            return (ngettext("failed after %(n)d retry", "failed after %(n)d retries",
                             self.retries) % {"n": self.retries}) if self.retries else _("failed")
        if self.retries:
            return ngettext("recovered after %(n)d retry", "recovered after %(n)d retries",
                            self.retries) % {"n": self.retries}
        if self.incidents:
            return _("handled error")
        return _("ok")

    @property
    def errors_text(self) -> str:
        return ngettext("%(n)d error", "%(n)d errors", self.incidents) % {"n": self.incidents}


@dataclass
class ErrorSpan:
    """What the outcome needs of a span with ERROR status."""

    span_id: str
    parent_span_id: str
    kind: str
    error_ref: str  # tracekit.error.span_id ("" when it raised here)
    state: str  # celery.state


def outcome(error_spans: Iterable[ErrorSpan], retries: int = 0,
            n_plus_one: int = 0) -> Outcome:
    found = Outcome(retries=retries, n_plus_one=n_plus_one)
    incidents: set[str] = set()
    for span in error_spans:
        incidents.add(span.error_ref or span.span_id)
        if span.error_ref:
            found.carriers += 1
        if (is_entry(span.parent_span_id, span.kind)
                and span.state not in (RETRY_STATE, SUCCESS_STATE)):
            found.entry_failed = True
    found.incidents = len(incidents)
    return found
