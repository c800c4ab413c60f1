"""Records whose message is an event dict (structlog's stdlib integration:
``ProcessorFormatter.wrap_for_formatter`` logs the event dict itself as ``msg``).

Rendered readably: the ``event`` text is the message, the other keys become ``log.<key>``
attributes (bounded, redacted like every attribute); keys the event already carries
(logger, level, location, timestamp) are left out. A traceback that structlog rendered into
the dict (``format_exc_info``: ``exception``) is not kept as text when the exception itself
is recorded by the error convention: the exception event has the stack once.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django_tracekit.core.redaction import REDACTED, is_secret_name, redact_text, safe_repr

MAX_KEYS = 32
MAX_VALUE_CHARS = 2048
# Already on the event (log.logger, log.severity, code.*, the event's time) or internal.
_SKIPPED = frozenset({
    "event", "logger", "logger_name", "level", "log_level", "timestamp", "filename",
    "pathname", "func_name", "lineno", "module", "thread", "thread_name", "process",
    "process_name", "_record", "_from_structlog", "_logger", "_name", "exc_info",
    "stack_info",
})
_TRACEBACK_KEYS = ("exception", "exc_info")


def event_dict(record: logging.LogRecord) -> dict[Any, Any] | None:
    """The record's event dict, if its message is one (``event`` key present)."""
    msg = record.msg
    return msg if type(msg) is dict and "event" in msg else None


def carried_exception(event: dict[Any, Any]) -> BaseException | None:
    """The exception an event dict says it carries (``exc_info=True``, or the traceback text
    ``format_exc_info`` made of it): the one being handled, as structlog itself took it."""
    if not any(event.get(key) for key in _TRACEBACK_KEYS):
        return None
    exc_info = event.get("exc_info")
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3 and isinstance(exc_info[1],
                                                                         BaseException):
        return exc_info[1]
    return sys.exc_info()[1]


def message(event: dict[Any, Any], limit: int) -> str:
    value = event.get("event")
    text = value if isinstance(value, str) else safe_repr(value)
    if len(text) > limit:
        text = f"{text[:limit]}... [tracekit: {len(text) - limit} more characters]"
    return redact_text(text)


def attributes(event: dict[Any, Any], exception_recorded: bool) -> dict[str, Any]:
    """``log.<key>`` attributes of the event's other keys (valid attribute values only)."""
    values: dict[str, Any] = {}
    for key, value in event.items():
        if len(values) >= MAX_KEYS:
            break
        if not isinstance(key, str) or key in _SKIPPED or value is None:
            continue
        if key == "exception" and exception_recorded:
            continue  # the exception event holds the stack
        values[f"log.{key}"] = _value(key, value)
    return values


def _value(key: str, value: Any) -> Any:
    if is_secret_name(key):
        return REDACTED
    if isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else safe_repr(value)
    if len(text) > MAX_VALUE_CHARS:
        text = f"{text[:MAX_VALUE_CHARS]}... [tracekit: {len(text) - MAX_VALUE_CHARS} more]"
    return redact_text(text)


__all__ = ["attributes", "carried_exception", "event_dict", "message"]
