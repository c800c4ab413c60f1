"""Which exceptions already reached Sentry (first reporter wins, per exception object)."""

from __future__ import annotations

from collections import deque

# Attribute set on a forwarded exception: the Sentry event id that reported it.
_FORWARDED = "__tracekit_sentry_event__"
# Exceptions that refuse the marker attribute (__slots__): remembered by identity, bounded.
_unmarkable: deque[tuple[BaseException, str]] = deque(maxlen=256)


def forwarded(exc: BaseException) -> str | None:
    """The event id that reported ``exc`` (``"pending"`` while capturing), or None."""
    value = getattr(exc, _FORWARDED, None)
    if isinstance(value, str):
        return value
    for seen, event_id in _unmarkable:
        if seen is exc:
            return event_id
    return None


def mark_forwarded(exc: BaseException, event_id: str) -> None:
    try:
        setattr(exc, _FORWARDED, event_id)
    except (AttributeError, TypeError):
        _unmarkable.append((exc, event_id))
