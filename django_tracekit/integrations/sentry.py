"""Optional Sentry forwarding: every error recorded on a span becomes one Sentry event.

Imported only when Sentry is in use (``install()`` from ``apps.ready()``). Rules:

- **Client.** If the application already initialised ``sentry_sdk`` (an active client), that
  client is used and never re-initialised. Otherwise, with a DSN (``TRACEKIT['SENTRY']`` or
  ``SENTRY_DSN``), ``sentry_sdk.init`` is called with the SDK's defaults except: no Sentry
  tracing (traces go over OTLP), no local variable values unless
  ``TRACEKIT['ERRORS']['CAPTURE_LOCALS']``, in-app frames = the project's packages.
  ``send_default_pii`` is left at the SDK default (off); a team that wants it initialises
  Sentry itself.
- **One event per error.** An error listener (``errors.error_listeners``: called once per
  error, sampled or not) captures the exception with Sentry's own frames, adds the full
  stack (callers above the recording point + the traceback) as the crashed thread's stack,
  ``contexts.trace`` = the span's ids, and tags ``tracekit.feature`` / ``tracekit.kind`` /
  ``service.name``. The exception object is marked with the event id.
- **First reporter wins.** Sentry's own integrations (Django ``got_request_exception``,
  Celery ``task.run`` wrapper, ``logging``) may see the same exception, before or after
  tracekit. A global event processor drops an SDK event for an exception tracekit already
  forwarded; an SDK event for an exception tracekit has not seen yet is *adopted*: it gets
  the same tags, stack and trace ids, and tracekit will not send another one. Either way the
  exception stack (what Sentry groups by) is the SDK's standard one, so both paths group
  into the same issue.
- **Trace linking for every event**: like the SDK's ``OTLPIntegration``, the current OTel
  span is registered as Sentry's external propagation context, so any event captured while
  a span is current (``capture_message``, integrations) carries its trace id.
- **Redaction**: tracekit's rule (``redaction.is_secret_name``) is applied to request
  headers, cookies, body and query, breadcrumbs, extra, contexts and frame variables by a
  ``before_send`` wrapper (it runs after every event processor, so request data added by
  the SDK's Django integration is covered), ahead of the application's own ``before_send``.
- **Never slows the host**: capture only builds the event; the SDK's transport sends it from
  its background thread with a bounded queue.

Sentry SDK 2.x is supported. 3.x is refused (system check ``django_tracekit.E017``): its
pre-releases replace OpenTelemetry's global TracerProvider and its final API removes or
renames what this module and the team's setup rely on; see ``docs/sentry.md``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import re
import sys
import threading
import types
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.checks import CheckMessage, Error
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from django_tracekit import errors, naming
from django_tracekit.conf import Config
from django_tracekit.redaction import (
    describe_request,
    redact_data,
    redact_query,
    redact_text,
    redact_url,
)

logger = logging.getLogger("django_tracekit")

SUPPORTED_MAJOR = 2
EXTRA_HINT = "pip install 'django-tracekit[sentry]'"
# Attribute set on a forwarded exception: the Sentry event id that reported it.
_FORWARDED = "__tracekit_sentry_event__"
# Key in the capture hint that marks tracekit's own events.
_HINT_KEY = "tracekit"
TAG_FEATURE = "tracekit.feature"
TAG_KIND = "tracekit.kind"
TAG_SERVICE = "service.name"
TAG_SAMPLED = "tracekit.sampled"
_MAX_DEPTH = 10

_OUR_PACKAGE = "django_tracekit"
_INTERNAL_MODULES = ("django_tracekit.errors", "django_tracekit.integrations.sentry")
_REQUEST_SITES = ("django_tracekit.http", "django_tracekit.middleware")
_TASK_SITES = ("django_tracekit.integrations.celery",)


@dataclass(frozen=True)
class Status:
    """What :func:`install` did: ``enabled`` or the reason it refused."""

    enabled: bool
    reason: str
    owns_client: bool = False


@dataclass
class _Settings:
    service_name: str
    in_app: tuple[str, ...]
    max_frames: int


_lock = threading.Lock()
_status: Status | None = None
_settings: _Settings | None = None
# Exceptions that refuse the marker attribute (__slots__): remembered by identity, bounded.
_unmarkable: deque[tuple[BaseException, str]] = deque(maxlen=256)


# -- version and options -------------------------------------------------------------------

def _sdk_version() -> str | None:
    """The installed sentry_sdk version, or None when the extra is not installed."""
    try:
        if importlib.util.find_spec("sentry_sdk") is None:
            return None
    except (ImportError, ValueError):
        return None
    from sentry_sdk.consts import VERSION

    return str(VERSION)


def _major(version: str) -> int:
    match = re.match(r"(\d+)", version)
    return int(match.group(1)) if match else 0


def _unsupported(version: str) -> str | None:
    major = _major(version)
    if major == SUPPORTED_MAJOR:
        return None
    if major > SUPPORTED_MAJOR:
        return (f"sentry-sdk {version} is not supported: 3.x changes how Sentry relates to "
                "OpenTelemetry (its pre-releases install their own global TracerProvider and "
                "sampler) and removes APIs tracekit's forwarding relies on")
    return f"sentry-sdk {version} is too old"


def _client_active() -> bool:
    import sentry_sdk

    return bool(sentry_sdk.get_client().is_active())


def sentry_wanted(config: Config) -> bool:
    """Whether Sentry forwarding is asked for: a DSN, or a client the application started."""
    if config.sentry_dsn:
        return True
    if "sentry_sdk" not in sys.modules:  # the application did not even import it
        return False
    try:
        return _client_active()
    except Exception:
        return False


def check_sentry(config: Config) -> list[CheckMessage]:
    """System check messages for the Sentry integration (register from ``checks.py``).

    E017: Sentry is configured but the installed sentry-sdk is not a supported version.
    E018: a DSN is configured but sentry-sdk is not installed.
    """
    version = _sdk_version()
    key = "TRACEKIT['SENTRY']['DSN']"
    if version is None:
        if config.sentry_dsn:
            return [Error(f"{key} is set but sentry-sdk is not installed: errors are not "
                          "forwarded to Sentry.", hint=f"Install the extra: {EXTRA_HINT}.",
                          id="django_tracekit.E018")]
        return []
    if not sentry_wanted(config):
        return []
    problem = _unsupported(version)
    if problem is None:
        return []
    return [Error(f"{problem}; errors are not forwarded to Sentry.",
                  hint="Install a supported version: pip install 'sentry-sdk>=2,<3', or "
                       "remove TRACEKIT['SENTRY'] / SENTRY_DSN to turn forwarding off.",
                  id="django_tracekit.E017")]


def _in_app_packages(config: Config) -> tuple[str, ...]:
    """Top packages of the project's own code: PROJECT_NAME, ROOT_URLCONF, AUTOTRACE INCLUDE."""
    from django.conf import settings

    names: list[str] = [config.project_name]
    urlconf = getattr(settings, "ROOT_URLCONF", None)
    if isinstance(urlconf, str):
        names.append(urlconf)
    include = config.autotrace.get("INCLUDE") or []
    names.extend(str(n) for n in include)
    packages: list[str] = []
    for name in names:
        top = name.split(".")[0].replace("-", "_")
        if top.isidentifier() and top != _OUR_PACKAGE and top not in packages:
            packages.append(top)
    return tuple(packages)


# -- install -------------------------------------------------------------------------------

def status() -> Status | None:
    return _status


def install(config: Config) -> Status:
    """Turn forwarding on for this process (idempotent: later calls return the first result)."""
    global _status
    with _lock:
        if _status is not None and _status.enabled:
            return _status
        _status = _install(config)
    if _status.enabled:
        logger.info("tracekit: Sentry forwarding is on (%s)", _status.reason)
    elif config.sentry_dsn:  # asked for and refused: say why, once
        logger.warning("tracekit: Sentry forwarding is off: %s", _status.reason)
    return _status


def _install(config: Config) -> Status:
    global _settings
    version = _sdk_version()
    if version is None:
        return Status(False, f"sentry-sdk is not installed ({EXTRA_HINT})")
    problem = _unsupported(version)
    if problem is not None:
        return Status(False, problem + " (system check django_tracekit.E017)")
    if any(p.id == "E013" for p in config.problems):
        return Status(False, "the Sentry DSN is invalid (system check django_tracekit.E013)")

    import sentry_sdk

    in_app = _in_app_packages(config)
    owns = False
    if _client_active():
        reason = "using the Sentry client the application initialised"
    elif config.sentry_dsn:
        try:
            sentry_sdk.init(
                dsn=config.sentry_dsn,
                environment=config.sentry_environment,
                in_app_include=list(in_app),
                in_app_exclude=[_OUR_PACKAGE],
                # The error convention: no local variable values unless asked for.
                include_local_variables=config.capture_locals,
                # Not setting traces_sample_rate/traces_sampler keeps Sentry tracing off.
            )
        except Exception as exc:  # a bad option must not break the application
            return Status(False, f"sentry_sdk.init failed: {exc!r}")
        owns = True
        reason = "initialised Sentry from TRACEKIT['SENTRY'] / SENTRY_DSN"
    else:
        return Status(False, "no DSN configured and no Sentry client initialised")

    _settings = _Settings(service_name=config.service_name, in_app=in_app,
                          max_frames=config.max_frames)
    _register_once()
    _wrap_before_send(sentry_sdk.get_client())
    return Status(True, reason, owns_client=owns)


_registered = False


def _register_once() -> None:
    global _registered
    if _registered:
        return
    from sentry_sdk import scope as sentry_scope
    from sentry_sdk.serializer import add_global_repr_processor

    sentry_scope.add_global_event_processor(_process_event)  # type: ignore[arg-type]
    # Frame variables: a request as method + path, never the query string its repr shows.
    add_global_repr_processor(_repr_request)
    register = getattr(sentry_scope, "register_external_propagation_context", None)
    has = getattr(sentry_scope, "has_external_propagation_context", None)
    if register is not None and has is not None and not has():
        register(_otel_trace_context)
    if _forward not in errors.error_listeners:
        errors.error_listeners.append(_forward)
    _registered = True


def _repr_request(value: Any, hint: Any) -> Any:
    shown = describe_request(value)
    return NotImplemented if shown is None else shown


def _otel_trace_context() -> tuple[str, str] | None:
    """The current OTel span's ids (what Sentry's OTLPIntegration registers, too)."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


# -- forwarding ----------------------------------------------------------------------------

def _forwarded(exc: BaseException) -> str | None:
    value = getattr(exc, _FORWARDED, None)
    if isinstance(value, str):
        return value
    for seen, event_id in _unmarkable:
        if seen is exc:
            return event_id
    return None


def _mark_forwarded(exc: BaseException, event_id: str) -> None:
    try:
        setattr(exc, _FORWARDED, event_id)
    except (AttributeError, TypeError):
        _unmarkable.append((exc, event_id))


def _forward(exc: BaseException, span: Span) -> None:
    """Error listener: capture ``exc`` as one Sentry event linked to ``span``."""
    if _forwarded(exc) is not None:  # an SDK integration reported it first (adopted)
        return
    import sentry_sdk
    from sentry_sdk.utils import event_from_exception

    client = sentry_sdk.get_client()
    if not client.is_active() or _settings is None:
        return
    site = _recording_site()
    kind = _kind(span, site)
    sdk_event, hint = event_from_exception(
        exc, client_options=client.options,
        mechanism={"type": "django_tracekit", "handled": kind == "function"})
    event: dict[str, Any] = dict(sdk_event)
    context = span.get_span_context()
    trace_context: dict[str, Any] = {
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
        "op": {"request": "http.server", "task": "celery.task"}.get(kind, "function"),
        "status": "internal_error",
        "origin": "auto.tracekit",
    }
    parent = getattr(span, "parent", None)
    if parent is not None:
        trace_context["parent_span_id"] = format(parent.span_id, "016x")
    if context.is_valid:  # tracing off (proxy tracer): let the SDK fill its own context
        event["contexts"] = {"trace": trace_context}
    _enrich(event, exc, span, kind, _callers_of(exc, site), client.options)
    event["tags"][TAG_SAMPLED] = "true" if context.trace_flags.sampled else "false"
    hint[_HINT_KEY] = True
    # Mark before capturing: SDK events raised while capturing must see it as forwarded.
    _mark_forwarded(exc, "pending")
    event_id = sentry_sdk.capture_event(event, hint=hint)  # type: ignore[arg-type]
    _mark_forwarded(exc, event_id or "dropped")


def _module_of(frame: types.FrameType) -> str:
    return str(frame.f_globals.get("__name__") or "")


def _recording_site() -> types.FrameType | None:
    """The frame that called into the error convention (record_error / handle_escaping)."""
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None and _module_of(frame).startswith(_INTERNAL_MODULES):
        frame = frame.f_back
    return frame


def _kind(span: Span, site: types.FrameType | None) -> str:
    """request / task / function: from the span when it records, else from who recorded."""
    span_kind = getattr(span, "kind", None)
    if span.is_recording() and span_kind is not None:
        if span_kind is SpanKind.SERVER:
            return "request"
        attributes = getattr(span, "attributes", None) or {}
        if span_kind is SpanKind.CONSUMER or attributes.get("messaging.system") == "celery":
            return "task"
        return "function"
    module = _module_of(site) if site is not None else ""
    if module.startswith(_REQUEST_SITES):
        return "request"
    if module.startswith(_TASK_SITES):
        return "task"
    return "function"


def _callers_of(exc: BaseException, site: types.FrameType | None) -> types.FrameType | None:
    tb = exc.__traceback__
    if tb is not None:
        return tb.tb_frame.f_back  # the traceback starts at the catch point: callers are live
    return site  # never raised: the stack of the recording point


def _is_in_app(module: str, in_app: Iterable[str]) -> bool:
    top = module.split(".", 1)[0]
    return top != _OUR_PACKAGE and top in in_app


def _feature(exc: BaseException, span: Span, kind: str, in_app: tuple[str, ...]) -> str:
    """The code-location name the error belongs to (the feature in stats and span names)."""
    name = getattr(span, "name", None)
    if kind != "request" and span.is_recording() and isinstance(name, str) and name:
        return name
    # Requests (the server span is named by route) and sampled-out spans (no name): the
    # project frame nearest the catch point is the view / task / function of the span.
    fallback: str | None = None
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        module = _module_of(frame)
        if _is_in_app(module, in_app):
            return naming.location_for_code(frame.f_code, frame.f_globals).name
        if fallback is None and not module.startswith(_OUR_PACKAGE):
            fallback = naming.location_for_code(frame.f_code, frame.f_globals).name
        tb = tb.tb_next
    if isinstance(name, str) and name:
        return name
    return fallback or "unknown"


def _enrich(event: dict[str, Any], exc: BaseException, span: Span, kind: str,
            callers_from: types.FrameType | None, options: Mapping[str, Any]) -> None:
    """Tags, in-app marks and the full stack (as the crashed thread) on an event."""
    settings = _settings
    assert settings is not None
    tags = event.setdefault("tags", {})
    tags[TAG_FEATURE] = _feature(exc, span, kind, settings.in_app)
    tags[TAG_KIND] = kind
    tags[TAG_SERVICE] = settings.service_name
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
        if module.split(".", 1)[0] == _OUR_PACKAGE:
            frame["in_app"] = False
        elif frame.get("in_app") is None and _is_in_app(module, in_app):
            frame["in_app"] = True


def _full_stack(exc: BaseException, callers_from: types.FrameType | None,
                options: Mapping[str, Any], settings: _Settings) -> list[dict[str, Any]]:
    """Callers above the recording point + the traceback, oldest first, capped."""
    located: list[tuple[types.FrameType, int]] = []
    frame = callers_from
    while frame is not None:
        located.append((frame, frame.f_lineno))
        frame = frame.f_back
    located.reverse()
    tb = exc.__traceback__
    while tb is not None:
        located.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    if len(located) > settings.max_frames:  # same policy as the span's stack
        head = settings.max_frames // 4
        located = located[:head] + located[-(settings.max_frames - head):]
    frames = [_serialize_frame(f, line, options) for f, line in located]
    for serialized in frames:  # we know the project's packages: say so for every frame
        serialized["in_app"] = _is_in_app(str(serialized.get("module") or ""), settings.in_app)
    return frames


def _serialize_frame(frame: types.FrameType, lineno: int,
                     options: Mapping[str, Any]) -> dict[str, Any]:
    try:
        from sentry_sdk.utils import serialize_frame

        # Never local values in caller frames: they are not part of the error.
        return dict(serialize_frame(
            frame, tb_lineno=lineno, include_local_variables=False,
            include_source_context=bool(options.get("include_source_context", True)),
            max_value_length=options.get("max_value_length")))
    except Exception:  # a private helper whose signature may change: the minimum
        code = frame.f_code
        return {"filename": code.co_filename, "abs_path": code.co_filename,
                "function": code.co_name, "module": _module_of(frame), "lineno": lineno}


# -- event processing (every event of the client) ------------------------------------------

def _process_event(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
    """Global event processor: drop SDK duplicates of forwarded errors, adopt the others."""
    if _status is None or not _status.enabled or _settings is None:
        return event
    with contextlib.suppress(Exception):
        import sentry_sdk

        _wrap_before_send(sentry_sdk.get_client())  # the app may have re-initialised
    if hint.get(_HINT_KEY) or event.get("type") == "transaction":
        return event
    exc_info = hint.get("exc_info")
    exc = exc_info[1] if isinstance(exc_info, tuple) and len(exc_info) == 3 else None
    if not isinstance(exc, BaseException):
        return event
    if _forwarded(exc) is not None:
        return None  # tracekit (or an earlier SDK event) already reported this exception
    # First reporter: an SDK integration saw the error before tracekit recorded it (the
    # Celery integration wraps task.run). Report it with tracekit's context and make sure
    # tracekit does not send a second event when the error reaches its span.
    try:
        span = trace.get_current_span()
        if span.get_span_context().is_valid:
            import sentry_sdk

            site = exc.__traceback__.tb_frame if exc.__traceback__ is not None else None
            kind = _kind(span, None)
            _enrich(event, exc, span, kind, _callers_of(exc, site),
                    sentry_sdk.get_client().options)
            context = span.get_span_context()
            trace_context = event.setdefault("contexts", {}).setdefault("trace", {})
            trace_context["trace_id"] = format(context.trace_id, "032x")
            trace_context["span_id"] = format(context.span_id, "016x")
            event["tags"][TAG_SAMPLED] = "true" if context.trace_flags.sampled else "false"
    except Exception:
        logger.debug("tracekit: could not enrich a Sentry event", exc_info=True)
    _mark_forwarded(exc, str(event.get("event_id") or "sdk"))
    return event


# -- redaction (before_send) ---------------------------------------------------------------

def _wrap_before_send(client: Any) -> None:
    options = getattr(client, "options", None)
    if not isinstance(options, dict):
        return
    original = options.get("before_send")
    if getattr(original, "_tracekit", False):
        return

    def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
        try:
            redact_event(event, send_pii=bool(options.get("send_default_pii")))
        except Exception:
            logger.debug("tracekit: redacting a Sentry event failed", exc_info=True)
        return original(event, hint) if original is not None else event

    before_send._tracekit = True  # type: ignore[attr-defined]
    options["before_send"] = before_send


def redact_event(event: dict[str, Any], *, send_pii: bool) -> None:
    """Apply tracekit's redaction rule to everything an event carries about the request."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("headers", "data", "env"):
            if key in request:
                request[key] = redact_data(request[key])
        if not send_pii:
            request.pop("cookies", None)
        elif "cookies" in request:
            request["cookies"] = redact_data(request["cookies"])
        if isinstance(request.get("query_string"), str):
            request["query_string"] = redact_query(request["query_string"])
        if isinstance(request.get("url"), str):
            request["url"] = redact_url(request["url"])
    for key in ("extra", "tags"):
        if isinstance(event.get(key), dict):
            event[key] = redact_data(event[key])
    contexts = event.get("contexts")
    if isinstance(contexts, dict):
        event["contexts"] = {k: (v if k == "trace" else redact_data(v))
                             for k, v in contexts.items()}
    breadcrumbs = event.get("breadcrumbs")
    values = breadcrumbs.get("values") if isinstance(breadcrumbs, dict) else None
    for crumb in values or []:
        if not isinstance(crumb, dict):
            continue
        if isinstance(crumb.get("message"), str):
            crumb["message"] = redact_text(crumb["message"])
        if isinstance(crumb.get("data"), dict):
            data = redact_data(crumb["data"])
            if isinstance(data.get("url"), str):
                data["url"] = redact_url(data["url"])
            crumb["data"] = data
    for frames in _frame_lists(event):
        for frame in frames:
            if isinstance(frame, dict) and "vars" in frame:
                frame["vars"] = redact_data(frame["vars"])


def _frame_lists(event: dict[str, Any]) -> Iterable[list[Any]]:
    for section in ("exception", "threads"):
        container = event.get(section)
        values = container.get("values") if isinstance(container, dict) else None
        for value in values or []:
            stacktrace = value.get("stacktrace") if isinstance(value, dict) else None
            if isinstance(stacktrace, dict) and isinstance(stacktrace.get("frames"), list):
                yield stacktrace["frames"]


__all__ = ["Status", "check_sentry", "install", "redact_event", "sentry_wanted", "status"]
