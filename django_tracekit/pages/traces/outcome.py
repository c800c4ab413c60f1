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
  through 5 spans is one incident. A request span marked ERROR only by its 5xx status (no
  description, no reference: the application turned an exception into a 500 response, as
  DRF's ``handle_exception`` does) is the consequence of an incident raised in the same
  service while it ran, not a second one; alone, it is one.
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
    # A server span whose ERROR comes from its 5xx status alone, with where it ran: it
    # counts as an incident only when no incident was raised in its service while it ran.
    status_only: bool = False
    service: str = ""
    start_us: int = 0
    end_us: int = 0

    @classmethod
    def of(cls, span_id: str, parent_span_id: str, kind: str, error_ref: str, state: str,
           message: str, service: str, start_us: int, duration_us: int) -> ErrorSpan:
        """From a stored span: ``message`` is its status description (the request
        middleware's mark of a 5xx answer is none, with no reference)."""
        return cls(span_id, parent_span_id, kind, error_ref, state,
                   kind == "server" and not message and not error_ref, service, start_us,
                   start_us + max(duration_us, 0))


def outcome(error_spans: Iterable[ErrorSpan], retries: int = 0,
            n_plus_one: int = 0) -> Outcome:
    found = Outcome(retries=retries, n_plus_one=n_plus_one)
    spans = list(error_spans)
    raised = [s for s in spans if not s.status_only]
    incidents: set[str] = set()
    for span in spans:
        if span.status_only and any(_within(r, span) for r in raised):
            found.carriers += 1  # its 500 answers an incident counted where it was raised
        else:
            incidents.add(span.error_ref or span.span_id)
            if span.error_ref:
                found.carriers += 1
        if (is_entry(span.parent_span_id, span.kind)
                and span.state not in (RETRY_STATE, SUCCESS_STATE)):
            found.entry_failed = True
    found.incidents = len(incidents)
    return found


def _within(raised: ErrorSpan, request: ErrorSpan) -> bool:
    """Whether ``raised`` started in ``request``'s service while it ran (its subtree: the
    list reads the error spans only, not the tree)."""
    return (raised.service == request.service
            and request.start_us <= raised.start_us <= request.end_us)
