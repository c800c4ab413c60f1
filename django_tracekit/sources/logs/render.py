"""A log record's values as the attributes of its ``log`` event (docs/logs.md): the message
formatted, capped and redacted (never raising), the call site's attributes built once per
site; for a record now (:func:`attributes`) or for the values a deferred event kept
(:func:`built`)."""

from __future__ import annotations

import logging
from typing import Any

from django_tracekit.core import guard
from django_tracekit.core.errors import qualified_type_name
from django_tracekit.core.logonce import LogOnce
from django_tracekit.core.redaction import redact_text, safe_repr
from django_tracekit.sources.logs import structured

MAX_MESSAGE_CHARS = 8192


class _Formatted:
    """In a deferred event's ``args``: its ``msg`` is the capped text already."""

    def __reduce__(self) -> str:
        return "FORMATTED"  # copied and pickled as this module's one instance


FORMATTED = _Formatted()


def severity_number(levelno: int) -> int:
    """The OpenTelemetry SeverityNumber of a ``logging`` level (as the SDK maps it):
    DEBUG 5, INFO 9, WARNING 13, ERROR 17, CRITICAL 21; 0 (unspecified) below DEBUG."""
    if levelno < logging.DEBUG:
        return 0
    if levelno > 53:
        return 24
    return 5 + 4 * (levelno // 10 - 1) + min(levelno % 10, 3)


# Values whose str()/repr() runs no application code: formatting them needs no guard.
PLAIN = frozenset({str, int, float, bool, type(None)})


def plain(args: Any) -> bool:
    cls = args.__class__
    if cls is tuple:
        values: Any = args
    elif cls is dict:  # logger.info("%(n)s", {"n": 1})
        values = args.values()
    else:
        return args is None
    kinds = PLAIN
    for value in values:  # noqa: SIM110  (all(<generator>) costs a frame per event)
        if value.__class__ not in kinds:
            return False
    return True


def message(record: logging.LogRecord) -> str:
    """The formatted message, capped and redacted; never raises. A ``msg % args`` that fails
    (logging itself only prints an error when a handler formats it) gives a safe text."""
    return _capped_redacted(formatted(record))


def formatted(record: logging.LogRecord) -> str:
    """``record.getMessage()``, or a safe text saying why it failed; never raises."""
    try:
        msg, args = record.msg, record.args
        if msg.__class__ is str and plain(args):
            return msg % args if args else msg  # LogRecord.getMessage, for a str msg
        with guard.formatting():  # the arguments' __str__/__repr__ run untraced
            return record.getMessage()
    except Exception as exc:
        return _unformattable(exc, record.msg, record.args)


def _unformattable(exc: Exception, msg: Any, args: Any) -> str:
    return (f"<log message could not be formatted: {type(exc).__name__}> "
            f"msg={safe_repr(msg)} args={safe_repr(args)}")


def capped(text: str) -> str:
    if len(text) > MAX_MESSAGE_CHARS:
        text = (f"{text[:MAX_MESSAGE_CHARS]}... [tracekit: {len(text) - MAX_MESSAGE_CHARS} "
                "more characters]")
    return text


def _capped_redacted(text: str) -> str:
    return redact_text(capped(text))


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# The attributes a call site always gives (logger, level, location), built once per site.
_sites: dict[tuple[Any, ...], dict[str, Any]] = {}


def _site(record: logging.LogRecord) -> dict[str, Any]:
    return _site_of((record.name, record.levelno, record.levelname, record.pathname,
                     record.lineno, record.funcName))


def _site_of(key: tuple[Any, ...]) -> dict[str, Any]:
    """The site's attributes; ``key``: (name, levelno, levelname, pathname, lineno,
    funcName) of a record."""
    site = _sites.get(key)
    if site is None:
        name, levelno, levelname, pathname, lineno, func = key
        candidates = {
            "log.severity": _str(levelname),
            "log.severity_number": severity_number(levelno) if isinstance(levelno, int)
            else None,
            "log.logger": _str(name),
            "code.file.path": _str(pathname),
            "code.line.number": _int(lineno),
            "code.function.name": _str(func),
        }
        site = {key: value for key, value in candidates.items() if value is not None}
        if len(_sites) >= 4096:  # call sites are bounded in code, not in data: stay so
            _sites.clear()
        _sites[key] = site
    return site


def attributes(record: logging.LogRecord, exc: BaseException | None) -> dict[str, Any]:
    """The event's attributes; only valid attribute values (auto-trace spans do not
    validate, and a custom factory may have put anything on a record)."""
    event = None if record.msg.__class__ is str else structured.event_dict(record)
    if event is None:
        values = {"log.message": message(record), **_site(record)}
    else:  # structlog's event dict: its text, its keys as attributes
        values = {"log.message": structured.message(event, MAX_MESSAGE_CHARS), **_site(record),
                  **structured.attributes(event, exc is not None)}
    thread = record.threadName
    if isinstance(thread, str):
        values["thread.name"] = thread
    if exc is not None:
        values["exception.type"] = qualified_type_name(type(exc))
    return values


def built(fields: tuple[Any, ...]) -> dict[str, Any]:
    """A deferred event's attributes: those :func:`attributes` gives for its record.
    ``fields``: the record's msg, args (or :data:`FORMATTED`), name, levelno, levelname,
    pathname, lineno, funcName, threadName, created (``events._FIELDS``)."""
    try:
        msg, args = fields[0], fields[1]
        if args is FORMATTED:
            text = msg
        else:
            try:  # the values are str, int, float, bool, None: no application code runs
                text = capped(msg % args if args else msg)
            except Exception as exc:
                text = capped(_unformattable(exc, msg, args))
        values = {"log.message": redact_text(text), **_site_of(fields[2:8])}
        thread = fields[8]
        if isinstance(thread, str):
            values["thread.name"] = thread
        return values
    except Exception:  # read by a processor or an exporter: never raise into it
        _build_failure()
        return {"log.message": "<tracekit: this log event could not be built>"}


_build_failure = LogOnce("building a log event's attributes failed").failed


__all__ = ["FORMATTED", "MAX_MESSAGE_CHARS", "PLAIN", "attributes", "built", "capped",
           "formatted", "message", "plain", "severity_number"]
