"""How every page writes a duration, a rate, a moment and a link's query string."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode

from django.utils import timezone


def format_duration(us: float | None) -> str:
    if us is None:
        return "–"  # noqa: RUF001 (an en dash: "no value")
    if us < 1000:
        return f"{us:.0f} µs"
    if us < 1_000_000:
        return f"{us / 1000:.3g} ms"
    if us < 60_000_000:
        return f"{us / 1_000_000:.3g} s"
    return f"{us / 60_000_000:.3g} min"


_SEGMENT_END = re.compile(r"(?<=[/.])(?=.)")


def name_parts(name: str) -> list[str]:
    """A feature name cut after each "/" and ".": joined with <wbr>, a long route or code path
    wraps between its segments, not in the middle of one."""
    return _SEGMENT_END.split(name)


_WORD_END = re.compile(r"(?<=[-_./])(?=.)")


def word_parts(text: str) -> list[str]:
    """A name cut after each "-", "_", "." and "/": joined with <wbr>, a service or a code
    path's long last segment wraps between its words, not in the middle of one."""
    return _WORD_END.split(text)


def format_rate(rate: float) -> str:
    return f"{rate * 100:.2f} %" if rate else "0 %"


def local_time(seconds: float) -> dt.datetime:
    """An epoch time in the site's time zone."""
    return timezone.localtime(dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc))


def query_string(values: dict[str, str], **changes: str | None) -> str:
    """``?`` and ``values`` with ``changes`` applied (empty values left out)."""
    merged = {**values, **changes}
    return "?" + urlencode({k: v for k, v in merged.items() if v})
