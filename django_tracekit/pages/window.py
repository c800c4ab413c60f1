"""The time window a usage page shows: a preset range or a custom one, and its resolution.

A window reads one resolution: minute buckets up to 6 hours, hour buckets up to 8 days,
day buckets beyond (day buckets are UTC days).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from django_tracekit.storage.usage_models import DAY, HOUR, MINUTE, RESOLUTIONS

RANGES: dict[str, tuple[int, Any]] = {
    "1h": (3600, gettext_lazy("Last hour")),
    "24h": (86400, gettext_lazy("Last 24 hours")),
    "7d": (7 * 86400, gettext_lazy("Last 7 days")),
    "30d": (30 * 86400, gettext_lazy("Last 30 days")),
    "90d": (90 * 86400, gettext_lazy("Last 90 days")),
}
DEFAULT_RANGE = "24h"
MAX_CUSTOM_SECONDS = 400 * 86400


@dataclass
class Window:
    key: str  # a RANGES key or "custom"
    start: int  # epoch seconds, aligned to the resolution
    end: int  # exclusive
    resolution: int
    label: str
    errors: list[str] = field(default_factory=list)
    # Nothing is stored at or after `end` yet (the window reaches the present).
    open_end: bool = False

    @property
    def points(self) -> list[int]:
        return list(range(self.start, self.end, self.resolution))

    def cover(self, resolutions: tuple[int, ...] = RESOLUTIONS) -> list[tuple[int, int, int]]:
        """``(resolution, start, end)`` spans of the coarsest stored buckets that add up to
        exactly this window: totals over 7 days read about 7 day rows and the hours before
        the first midnight per feature, not 168 hour rows (every resolution holds the same
        counts, rolled up when written)."""
        return _cover(self.start, self.end, self.resolution, self.open_end, resolutions)


def cover(start: int, end: int, finest: int, open_end: bool,
          resolutions: tuple[int, ...] = RESOLUTIONS) -> list[tuple[int, int, int]]:
    """See :meth:`Window.cover`; ``start``/``end`` aligned to ``finest``."""
    return _cover(start, end, finest, open_end, resolutions)


def _cover(start: int, end: int, finest: int, open_end: bool,
           resolutions: tuple[int, ...] = RESOLUTIONS) -> list[tuple[int, int, int]]:
    if start >= end:
        return []
    for resolution in sorted(resolutions, reverse=True):
        if resolution < finest:
            break
        first = -(-start // resolution) * resolution
        # A bucket reaching past an open end holds nothing beyond it: it may be used whole.
        last = -(-end // resolution) * resolution if open_end else end - end % resolution
        if first < last:
            return [*_cover(start, first, finest, False, resolutions),
                    (resolution, first, last),
                    *_cover(last, end, finest, open_end, resolutions)]
    raise ValueError(f"[{start}, {end}) is not aligned to {finest} s buckets")


def resolution_for(seconds: int) -> int:
    if seconds <= 6 * 3600:
        return MINUTE
    if seconds <= 8 * 86400:
        return HOUR
    return DAY


# Custom ranges must lie in these years (UTC): any local time zone can display them, and
# every bucket arithmetic stays inside what ``datetime`` represents (years 1-9999).
FIRST_YEAR, LAST_YEAR = 1970, 2999
_FIRST = int(dt.datetime(FIRST_YEAR, 1, 1, tzinfo=dt.timezone.utc).timestamp())
_AFTER_LAST = int(dt.datetime(LAST_YEAR + 1, 1, 1, tzinfo=dt.timezone.utc).timestamp())


def _instant(value: str, name: str) -> int | str:
    """Epoch seconds of an ISO 8601 date/time (naive: the current time zone), or an error."""
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return name
    try:
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, timezone.get_current_timezone())
        seconds = int(parsed.timestamp())
    except (OverflowError, ValueError, OSError):  # e.g. year 1 at +14:00 is year 0 in UTC
        seconds = _FIRST - 1
    if not _FIRST <= seconds < _AFTER_LAST:
        return _("Enter a date between %(first)s and %(last)s.") % {
            "first": FIRST_YEAR, "last": LAST_YEAR}
    return seconds


def window_from(params: Mapping[str, str], now: float | None = None) -> Window:
    """The window a request asks for (``range``, or ``range=custom`` + ``from``/``to``).

    An invalid custom range falls back to the default range, with the reason in ``errors``.
    """
    now_s = int(time.time() if now is None else now)
    key = params.get("range") or DEFAULT_RANGE
    errors: list[str] = []
    if key == "custom":
        start = _instant(params.get("from", ""), _("Enter a valid start date and time."))
        end = (_instant(params["to"], _("Enter a valid end date and time."))
               if params.get("to") else now_s)
        if isinstance(start, str) or isinstance(end, str):
            errors.extend(dict.fromkeys(e for e in (start, end) if isinstance(e, str)))
        elif end <= start:
            errors.append(_("The start must be before the end."))
        elif end - start > MAX_CUSTOM_SECONDS:
            errors.append(_("Choose a range of at most 400 days."))
        else:
            resolution = resolution_for(end - start)
            # The bucket holding `end` is included: a range ending 10:30 shows 10:00.
            end_aligned = end - end % resolution + resolution
            return Window("custom", start - start % resolution, end_aligned, resolution,
                          _("Custom range"), open_end=end_aligned > now_s)
        key = DEFAULT_RANGE
    if key not in RANGES:
        key = DEFAULT_RANGE
    seconds, label = RANGES[key]
    resolution = resolution_for(seconds)
    end = now_s - now_s % resolution + resolution  # include the current, partial bucket
    start = end - seconds
    start -= start % resolution
    return Window(key, start, end, resolution, str(label), errors, open_end=True)
