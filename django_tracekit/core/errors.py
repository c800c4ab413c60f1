"""The error convention: one exception event per error, with the *full* stack.

The SDK's ``span.record_exception`` formats only the traceback (raise point -> catch point)
and reads source lines. Here the event's ``exception.stacktrace`` holds the caller frames
above the recording point *and* the traceback frames, chained exceptions included, with
no source-line reads (file, line and function only) and capped in frames and characters.

An exception is recorded once, on the first span that sees it. Enclosing spans it passes
through get ERROR status, ``error.type`` and a reference (``tracekit.error.span_id``) to
the span holding the stack, not another copy.

An exception escaping a function span is not an error incident yet: its caller may handle it
(a form's validator loop catching ``ValidationError``). It is recorded there (the event, the
stack), but the listeners (error groups, Sentry) hear of it only when it becomes an incident:
when it escapes the entry point (a request answering 500, a failed task or command, the local
root span), or when it is recorded explicitly (``record_error``, ``logger.exception``). The
span where that happens carries :data:`INCIDENT`; the trace store and pages tell handled
exceptions from incidents by it and by the entry spans' status.
"""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from django_tracekit.core import guard
from django_tracekit.core.fingerprint import GROUP_ATTRIBUTE, group_of
from django_tracekit.core.logonce import LogOnce
from django_tracekit.core.redaction import REDACTED, is_secret_name, redact_text, safe_repr

_MARKER = "__tracekit_recorded__"
# Set on an exception recorded on a client span whose listeners (Sentry) were not told yet.
_UNREPORTED = "__tracekit_unreported__"
# The event attributes of an exception recorded but not reported yet (its raising span's).
_FIRST_EVENT = "__tracekit_first_event__"
ERROR_SPAN_ID = "tracekit.error.span_id"
# On the span where an error became an incident (reported to the listeners).
INCIDENT = "tracekit.error.incident"
# On that span too: the raising spans of every incident reported there (ERROR_SPAN_ID keeps
# only the last: a loop that logs several exceptions would leave the others "handled").
INCIDENT_SPAN_IDS = "tracekit.error.incident_span_ids"
_MAX_INCIDENT_SPAN_IDS = 32
_MAX_CHAIN = 8

# Exceptions that are outcomes, not errors: Django turns these into 4xx responses.
# The bootstrap adds the integrations' own (Celery's Retry/Ignore/Reject) via register_expected().
_expected: tuple[type[BaseException], ...] = (Http404, PermissionDenied, SuspiciousOperation,
                                              BadRequest)



@dataclass(frozen=True)
class StackCaps:
    """``TRACEKIT['ERRORS']`` as the bootstrap hands it over (the core does not read settings)."""

    max_frames: int = 128
    max_length: int = 32_768
    capture_locals: bool = False


_caps = StackCaps()


def configure(*, max_frames: int, max_length: int, capture_locals: bool) -> None:
    """The caps every recorded stack gets from now on (the bootstrap, from ERRORS)."""
    global _caps
    _caps = StackCaps(max_frames, max_length, capture_locals)


# Called once per error, when it is first recorded, sampled or not (Sentry, stats).
ErrorListener = Callable[[BaseException, Span], None]
error_listeners: list[ErrorListener] = []


def add_listener(listener: ErrorListener) -> None:
    """Call ``listener(exc, span)`` once per error from now on (idempotent)."""
    if listener not in error_listeners:
        error_listeners.append(listener)


def register_expected(*exc_types: type[BaseException]) -> None:
    """Declare exception types that are expected outcomes (not errors) when they escape."""
    global _expected
    _expected = tuple(dict.fromkeys((*_expected, *exc_types)))


def is_error(exc: BaseException) -> bool:
    """Whether an exception escaping a span is an error (not an expected outcome or exit)."""
    return isinstance(exc, Exception) and not isinstance(exc, _expected)


def qualified_type_name(exc_type: type[BaseException]) -> str:
    module = exc_type.__module__
    if module in ("builtins", "__main__"):
        return exc_type.__qualname__
    return f"{module}.{exc_type.__qualname__}"


def _frame_name(code: types.CodeType) -> str:
    return getattr(code, "co_qualname", code.co_name)


class Located(NamedTuple):
    """One frame of a recorded stack: the frame, its line, and whether the traceback has it."""

    frame: types.FrameType
    lineno: int | None
    raised: bool


def callers_start(exc: BaseException, site: types.FrameType | None) -> types.FrameType | None:
    """Where the callers above an error start: above the traceback's first frame (the frame
    handling the exception, whose callers are still live), else ``site`` (never raised)."""
    tb = exc.__traceback__
    return tb.tb_frame.f_back if tb is not None else site


def _hidden(frame: types.FrameType) -> bool:
    """A frame that sets ``__traceback_hide__`` (tracekit's wrappers; Django's error pages
    skip them too). The cheap name check first: f_locals builds a mapping."""
    return ("__traceback_hide__" in frame.f_code.co_varnames
            and bool(frame.f_locals.get("__traceback_hide__")))


def collect_frames(exc: BaseException, callers_from: types.FrameType | None,
                   max_frames: int) -> tuple[list[Located], int]:
    """The callers above ``callers_from`` (outermost first), then ``exc``'s traceback, capped
    at ``max_frames``: the outermost quarter and, mostly, the frames nearest the raise point
    are kept. Returns the frames and how many were omitted (after the first quarter)."""
    located: list[Located] = []
    frame = callers_from
    while frame is not None:
        if not _hidden(frame):
            located.append(Located(frame, frame.f_lineno, False))
        frame = frame.f_back
    located.reverse()
    tb = exc.__traceback__
    while tb is not None:
        if not _hidden(tb.tb_frame):
            located.append(Located(tb.tb_frame, tb.tb_lineno, True))
        tb = tb.tb_next
    if len(located) <= max_frames:
        return located, 0
    head = max_frames // 4
    tail = max_frames - head
    return [*located[:head], *located[-tail:]], len(located) - head - tail


def _frame_line(frame: types.FrameType, lineno: int | None) -> str:
    code = frame.f_code
    return f'  File "{code.co_filename}", line {lineno}, in {_frame_name(code)}'


# The auto-tracer's own locals (``_tk_t``, ``_tk_e``): bookkeeping, not the application's.
AUTOTRACE_LOCAL_PREFIX = "_tk_"


def _locals_lines(frame: types.FrameType) -> list[str]:
    lines = []
    for name, value in frame.f_locals.items():
        if name.startswith(AUTOTRACE_LOCAL_PREFIX):
            continue
        shown = repr(REDACTED) if is_secret_name(name) else safe_repr(value)
        lines.append(f"    {name} = {shown}")
    return lines


def _stack_lines(exc: BaseException, callers_from: types.FrameType | None, max_frames: int,
                 capture_locals: bool) -> list[str]:
    frames, omitted = collect_frames(exc, callers_from, max_frames)
    lines: list[str] = []
    for index, (frame, lineno, raised) in enumerate(frames):
        if omitted and index == max_frames // 4:
            lines.append(f"  ... {omitted} frames omitted ...")
        lines.append(_frame_line(frame, lineno))
        if capture_locals and raised:
            lines.extend(_locals_lines(frame))
    return lines


def _exception_only(exc: BaseException) -> str:
    name = qualified_type_name(type(exc))
    message = _safe_str(exc, 32_768)
    return f"{name}: {message}" if message else name


def format_stack(exc: BaseException, callers_from: types.FrameType | None = None, *,
                 max_frames: int = 128, max_length: int = 32_768,
                 capture_locals: bool = False) -> str:
    """Format ``exc`` like Python's traceback, plus the caller frames above ``callers_from``.

    Chained exceptions (``__cause__``/``__context__``) come first, as Python prints them.
    """
    chain: list[tuple[BaseException, str | None]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link: str | None = None
    while current is not None and id(current) not in seen and len(chain) < _MAX_CHAIN:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, "direct cause"
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, "context"
        else:
            current = None
    parts: list[str] = []
    for index, (item, link) in enumerate(reversed(chain)):
        if index:
            parts.append("")
        parts.append("Traceback (most recent call last):")
        # Callers are shared by the whole chain: show them once, on the final exception.
        frames_from = callers_from if item is exc else None
        parts.extend(_stack_lines(item, frames_from, max_frames, capture_locals))
        parts.append(_exception_only(item))
        if index < len(chain) - 1:
            # How the item just printed relates to the next one: its cause or its context.
            next_link = link
            parts.append("")
            parts.append("The above exception was the direct cause of the following exception:"
                         if next_link == "direct cause" else
                         "During handling of the above exception, another exception occurred:")
    text = "\n".join(parts)
    if len(text) > max_length:
        # Keep the end: the final exception and its innermost frames matter most.
        text = "[truncated]\n" + text[-(max_length - 12):]
    return text


def _mark(exc: BaseException, span: Span) -> None:
    # Exceptions with __slots__ refuse the marker: those may be recorded twice.
    with contextlib.suppress(AttributeError, TypeError):
        setattr(exc, _MARKER, span.get_span_context())


def recorded_in(exc: BaseException) -> trace.SpanContext | None:
    """The span context the exception was recorded on, if it was."""
    value = getattr(exc, _MARKER, None)
    return value if isinstance(value, trace.SpanContext) else None


def _status_description(exc: BaseException) -> str:
    return _exception_only(exc)[:1024]


def record_error(exc: BaseException, span: Span | None = None, *, _depth: int = 1) -> None:
    """Record ``exc`` on ``span`` (default: the current span) by the error convention.

    Sets ERROR status and adds one ``exception`` event whose ``exception.stacktrace``
    includes the callers above the recording point. Recording the same exception again,
    on an enclosing span, sets ERROR status and a reference instead of a second copy.
    Never raises.
    """
    if guard.active():
        return  # raised by application code tracekit's own formatting ran: not recorded
    try:
        with guard.formatting():
            _record(exc, trace.get_current_span() if span is None else span, _depth + 1)
    except Exception:  # tracing must never break the host application
        _log_failure()


def _record(exc: BaseException, span: Span, depth: int, notify: bool = True) -> None:
    first = recorded_in(exc)
    error_type = qualified_type_name(type(exc))
    if first is not None:
        if first != span.get_span_context() and span.is_recording():
            span.set_status(Status(StatusCode.ERROR, _status_description(exc)))
            span.set_attribute("error.type", error_type)
            if first.is_valid:
                span.set_attribute(ERROR_SPAN_ID, format(first.span_id, "016x"))
        if notify and getattr(exc, _UNREPORTED, False):
            # Recorded where it was raised, not reported: it escaped the entry point or is
            # recorded explicitly now, so it is an incident (error groups, Sentry), once.
            with contextlib.suppress(AttributeError, TypeError):
                delattr(exc, _UNREPORTED)
            _incident(exc, span, first)
        return
    _mark(exc, span)
    if not notify:
        with contextlib.suppress(AttributeError, TypeError):
            setattr(exc, _UNREPORTED, True)
    if span.is_recording():
        caps = _caps
        site = sys._getframe(depth)
        callers = callers_start(exc, site)
        stack = format_stack(exc, callers, max_frames=caps.max_frames,
                             max_length=caps.max_length, capture_locals=caps.capture_locals)
        event = {
            "exception.type": error_type,
            # The error group (the admin's errors page); before the stack: never capped away.
            GROUP_ATTRIBUTE: group_of(exc, site).fingerprint,
            "exception.message": _safe_str(exc),
            "exception.stacktrace": stack,
        }
        span.add_event("exception", event)
        span.set_status(Status(StatusCode.ERROR, _status_description(exc)))
        span.set_attribute("error.type", error_type)
        if not notify:  # the error groups' example, should it become an incident
            with contextlib.suppress(AttributeError, TypeError):
                setattr(exc, _FIRST_EVENT, event)
    if notify:
        _incident(exc, span)


def first_event(exc: BaseException) -> dict[str, str] | None:
    """The exception event recorded where ``exc`` was raised, when it became an incident
    later, on another span (the error groups' example message and stack)."""
    value = getattr(exc, _FIRST_EVENT, None)
    return value if isinstance(value, dict) else None


def _incident(exc: BaseException, span: Span,
              raised_in: trace.SpanContext | None = None) -> None:
    if span.is_recording():
        span.set_attribute(INCIDENT, True)
        if raised_in is not None and raised_in.is_valid:
            _add_incident_span(span, format(raised_in.span_id, "016x"))
    _notify(exc, span)


def _add_incident_span(span: Span, span_id: str) -> None:
    attributes = getattr(span, "attributes", None) or {}
    known = tuple(attributes.get(INCIDENT_SPAN_IDS) or ())
    if span_id not in known and len(known) < _MAX_INCIDENT_SPAN_IDS:
        span.set_attribute(INCIDENT_SPAN_IDS, (*known, span_id))


def _notify(exc: BaseException, span: Span) -> None:
    for listener in error_listeners:
        try:
            listener(exc, span)
        except Exception:
            _log_failure()


def _safe_str(exc: BaseException, limit: int = 4096) -> str:
    """``str(exc)`` run untraced, capped, with secrets redacted (a message may carry a
    ``token=…`` pair or a credential-shaped value: ``ValueError(f"bad key {stripe_key}")``)."""
    try:
        with guard.formatting():
            text = str(exc)[:limit]
    except Exception:
        return "<exception str() failed>"
    return redact_text(text)


_log_failure = LogOnce("recording an error failed").failed


def handle_escaping(exc: BaseException, span: Span) -> None:
    """What a span does with an exception escaping it: record errors, ignore outcomes. An
    error leaving a span inside the process is not an incident yet (its caller may handle
    it); leaving an entry point (a request, a task run, the local root span), it is."""
    if not is_error(exc) or guard.active():
        return
    try:
        with guard.formatting():
            _record(exc, span, 2, notify=_is_entry(span))
    except Exception:
        _log_failure()


def _is_entry(span: Span) -> bool:
    """An entry point: a request or task run (SERVER, CONSUMER), or the local root (no
    parent in this process). A non-recording span does not say: its entry point (which
    records explicitly) decides."""
    if getattr(span, "kind", None) in _ENTRY_KINDS:
        return True
    parent = getattr(span, "parent", _NO_PARENT_INFO)
    if parent is _NO_PARENT_INFO:
        parent = getattr(span, "_parent", _NO_PARENT_INFO)
    if parent is None:
        return True
    if not isinstance(parent, trace.SpanContext):
        return False
    return not parent.is_valid or bool(parent.is_remote)


_NO_PARENT_INFO = object()
_ENTRY_KINDS = (SpanKind.SERVER, SpanKind.CONSUMER)


def handle_client_error(exc: BaseException, span: Span) -> None:
    """What a client span (a SQL query, a cache call) does with its call's exception: the
    stack is recorded here, where it was raised, but nobody is notified (Sentry) until the
    exception escapes into code that records it again; an exception the caller handles
    (``get_or_create``'s IntegrityError race, a cache outage the app tolerates) stays a
    failed call in the trace, not an error report."""
    if not is_error(exc) or guard.active():
        return
    try:
        with guard.formatting():
            _record(exc, span, 2, notify=False)
    except Exception:
        _log_failure()


__all__ = [
    "ERROR_SPAN_ID",
    "INCIDENT",
    "INCIDENT_SPAN_IDS",
    "Located",
    "add_listener",
    "callers_start",
    "collect_frames",
    "error_listeners",
    "first_event",
    "format_stack",
    "handle_client_error",
    "is_error",
    "record_error",
    "recorded_in",
    "register_expected",
]
