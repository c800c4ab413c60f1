"""``TRACEKIT['LOGS']``: log records at/above a level as span events (docs/logs.md)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django_tracekit.conf.base import Reader

CHECK_IDS = {"LEVEL": "E025"}
LEVEL_NAMES = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class LogsSettings:
    """``level``: a ``logging`` level number, or ``None`` when log records do not become span
    events."""

    level: int | None = logging.INFO


def _level(value: object) -> int | None:
    """The level number a valid LEVEL names (-1: not valid)."""
    if value is None:
        return None
    if isinstance(value, str) and value.upper() in LEVEL_NAMES:
        return int(logging.getLevelName(value.upper()))
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return -1


def read(r: Reader) -> LogsSettings:
    values = r.section("LOGS")
    level = _level(values.merged["LEVEL"])
    if level == -1:
        level = _level(r.invalid(values, "LEVEL", CHECK_IDS["LEVEL"],
                                 "a logging level name, number or None",
                                 f"Use one of {', '.join(LEVEL_NAMES)}, or None to keep log "
                                 "records off spans."))
    return LogsSettings(level=level)
