"""tracekit's Sentry event for an error: Sentry's own exception, the full stack as the crashed
thread, ``contexts.trace`` = the span's ids, tags ``tracekit.feature`` / ``tracekit.kind`` /
``service.name`` / ``tracekit.sampled``. Also used to *adopt* an event an SDK integration
captured first (``processor.process_event``)."""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Mapping
from typing import Any, NamedTuple

from opentelemetry.trace import Span

from django_tracekit.core import errors, naming
from django_tracekit.core.features import FUNCTION, REQUEST, TASK, feature_kind
from django_tracekit.core.links import trace_links
from django_tracekit.destinations.sentry import markers, state
from django_tracekit.destinations.sentry.state import OUR_PACKAGE, Settings, is_in_app

TAG_FEATURE = "tracekit.feature"
TAG_KIND = "tracekit.kind"
TAG_SERVICE = "service.name"
TAG_SAMPLED = "tracekit.sampled"
# Key in the capture hint that marks tracekit's own events.
HINT_KEY = "tracekit"

# Frames of these modules are the error convention itself, not the site that recorded.
_INTERNAL_MODULES = ("django_tracekit.core.errors", "django_tracekit.destinations.sentry")
_REQUEST_SITES = ("django_tracekit.sources.http",)
_TASK_SITES = ("django_tracekit.sources.celery.tracing",)


def forward(exc: BaseException, span: Span) -> None:
    """Error listener: capture ``exc`` as one Sentry event linked to ``span``."""
    if markers.forwarded(exc) is not None:  # an SDK integration reported it first (adopted)
        return
    import sentry_sdk
    from sentry_sdk.utils import event_from_exception

    client = sentry_sdk.get_client()
    settings = state.current
    if not client.is_active() or settings is None:
        return
    site = _recording_site()
    kind = span_kind(span, site)
    sdk_event, hint = event_from_exception(
        exc, client_options=client.options,
        mechanism={"type": "django_tracekit", "handled": kind == FUNCTION})
    event: dict[str, Any] = dict(sdk_event)
    context = span.get_span_context()
    trace_context: dict[str, Any] = {
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
        "op": {REQUEST: "http.server", TASK: "celery.task"}.get(kind, FUNCTION),
        "status": "internal_error",
        "origin": "auto.tracekit",
    }
    parent = getattr(span, "parent", None)  # the SDK's span has it; the API's does not
    if parent is not None:
        trace_context["parent_span_id"] = format(parent.span_id, "016x")
    if context.is_valid:  # tracing off (proxy tracer): let the SDK fill its own context
        event["contexts"] = {"trace": trace_context}
        # Where to open the trace: the admin's trace explorer (and TRACE_URL's backend).
        links = trace_links(trace_context["trace_id"], getattr(span, "attributes", None),
                            trace_url=settings.trace_url, store_enabled=settings.store_enabled)
        if links:
            event["contexts"]["tracekit"] = links
    enrich(event, exc, span, kind, errors.callers_start(exc, site), client.options, settings)
    hint[HINT_KEY] = True
    # Mark before capturing: SDK events raised while capturing must see it as forwarded.
    markers.mark_forwarded(exc, "pending")
    event_id = sentry_sdk.capture_event(event, hint=hint)  # type: ignore[arg-type]
    markers.mark_forwarded(exc, event_id or "dropped")


def _module_of(frame: types.FrameType) -> str:
    return str(frame.f_globals.get("__name__") or "")


def _recording_site() -> types.FrameType | None:
    """The frame that called into the error convention (record_error / handle_escaping)."""
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None and _module_of(frame).startswith(_INTERNAL_MODULES):
        frame = frame.f_back
    return frame


def span_kind(span: Span, site: types.FrameType | None) -> str:
    """request / task / function: from the span when it records, else from who recorded."""
    kind = getattr(span, "kind", None)  # the SDK's spans; the API's Span has no kind
    if span.is_recording() and kind is not None:
        scope = getattr(span, "instrumentation_scope", None)
        return feature_kind(kind, getattr(scope, "name", None),
                            getattr(span, "attributes", None)) or FUNCTION
    module = _module_of(site) if site is not None else ""
    if module.startswith(_REQUEST_SITES):
        return REQUEST
    if module.startswith(_TASK_SITES):
        return TASK
    return FUNCTION


def _feature(exc: BaseException, span: Span, kind: str, in_app: tuple[str, ...]) -> str:
    """The code-location name the error belongs to (the feature in stats and span names)."""
    name = getattr(span, "name", None)
    if kind != REQUEST and span.is_recording() and isinstance(name, str) and name:
        return name
    # Requests (the server span is named by route) and sampled-out spans (no name): the
    # project frame nearest the catch point is the view / task / function of the span.
    fallback: str | None = None
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        module = _module_of(frame)
        if is_in_app(module, in_app):
            return naming.location_for_code(frame.f_code, frame.f_globals).name
        if fallback is None and not module.startswith(OUR_PACKAGE):
            fallback = naming.location_for_code(frame.f_code, frame.f_globals).name
        tb = tb.tb_next
    if isinstance(name, str) and name:
        return name
    return fallback or "unknown"


def enrich(event: dict[str, Any], exc: BaseException, span: Span, kind: str,
           callers_from: types.FrameType | None, options: Mapping[str, Any],
           settings: Settings) -> None:
    """Tags, in-app marks and the full stack (as the crashed thread) on an event."""
    tags = event.setdefault("tags", {})
    tags[TAG_FEATURE] = _feature(exc, span, kind, settings.in_app)
    tags[TAG_KIND] = kind
    tags[TAG_SERVICE] = settings.service_name
    tags[TAG_SAMPLED] = "true" if span.get_span_context().trace_flags.sampled else "false"
    for value in (event.get("exception") or {}).get("values") or []:
        _mark_in_app((value.get("stacktrace") or {}).get("frames") or [], settings.in_app)
    frames = _full_stack(exc, callers_from, options, settings)
    if frames:
        current = threading.current_thread()
        event["threads"] = {"values": [{
            "id": current.ident, "name": current.name, "current": True, "crashed": True,
            "stacktrace": {"frames": frames},
        }]}


def _mark_in_app(frames: list[dict[str, Any]], in_app: tuple[str, ...]) -> None:
    for frame in frames:
        module = str(frame.get("module") or "")
        if module.split(".", 1)[0] == OUR_PACKAGE:
            frame["in_app"] = False
        elif frame.get("in_app") is None and is_in_app(module, in_app):
            frame["in_app"] = True


def _full_stack(exc: BaseException, callers_from: types.FrameType | None,
                options: Mapping[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """Callers above the recording point + the traceback, oldest first, capped like the
    span's ``exception.stacktrace`` (the same frames)."""
    located, _ = errors.collect_frames(exc, callers_from, settings.max_frames)
    source = bool(options.get("include_source_context", True))
    max_length = options.get("max_value_length")
    frames = []
    for frame, lineno, _raised in located:
        # Copied: in_app is set per event. The cached part is what the SDK reads from disk.
        serialized = dict(_serialize_frame(frame.f_code, frame.f_globals.get("__name__"),
                                           lineno, source, max_length, frame))
        # We know the project's packages: say so for every frame.
        serialized["in_app"] = is_in_app(str(serialized.get("module") or ""), settings.in_app)
        frames.append(serialized)
    return frames


class _Located(NamedTuple):
    code: types.CodeType
    module: object
    lineno: int | None
    source: bool
    max_length: object


# The same callers (the server's loop, Django's handler) are above every failing request:
# their frames (source context read from disk) are built once. No local values are in them.
_frame_cache: dict[_Located, dict[str, Any]] = {}
_FRAME_CACHE_SIZE = 1024


def _serialize_frame(code: types.CodeType, module: object, lineno: int | None, source: bool,
                     max_length: object, frame: types.FrameType) -> dict[str, Any]:
    key = _Located(code, module, lineno, source, max_length)
    cached = _frame_cache.get(key)
    if cached is None:
        cached = _build_frame(frame, lineno, source, max_length)
        if len(_frame_cache) >= _FRAME_CACHE_SIZE:
            _frame_cache.clear()  # bounded; refilled by the next few errors
        _frame_cache[key] = cached
    return cached


def _build_frame(frame: types.FrameType, lineno: int | None, source: bool,
                 max_length: object) -> dict[str, Any]:
    try:
        from sentry_sdk.utils import serialize_frame

        # Never local values in caller frames: they are not part of the error.
        return dict(serialize_frame(
            frame, tb_lineno=lineno, include_local_variables=False,
            include_source_context=source, max_value_length=max_length))  # type: ignore[arg-type]
    except Exception:  # an undocumented helper whose signature may change: the minimum
        code = frame.f_code
        return {"filename": code.co_filename, "abs_path": code.co_filename,
                "function": code.co_name, "module": _module_of(frame), "lineno": lineno}
