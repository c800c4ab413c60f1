"""The usage table as CSV (``?format=csv``): one row per feature, durations in milliseconds.

Percentiles are estimates (a relative error of a few per cent, the stats' latency estimator):
they are written to :data:`PERCENTILE_DIGITS` significant figures, not to the microsecond a
spreadsheet would read as measured. Averages and maxima are exact and keep the microsecond.
"""

from __future__ import annotations

import csv
import math
from typing import Any

from django.http import HttpResponse
from django.utils import timezone

from django_tracekit.pages.shared.window import Window
from django_tracekit.pages.usage.table import fill_percentiles
from django_tracekit.pages.usage.users import fill_users

COLUMNS = ("feature", "kind", "service", "calls", "errors", "users", "p50_ms", "p95_ms",
           "p99_ms", "error_rate", "avg_ms", "max_ms", "n_plus_one", "retries",
           "failed_attempts", "retried_tasks")
# A leading = + - @ makes a spreadsheet evaluate the cell (CSV injection), and so does one
# after leading whitespace (spreadsheets trim it: " =1", "\n=1") or in its full-width form
# (U+FF1D "=1", which some convert on import): quote it. A leading tab / carriage return is quoted
# whatever follows (the OWASP rule).
PERCENTILE_DIGITS = 3
_FORMULA_CHARS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
_CONTROL_START = ("\t", "\r")


def _text(value: str) -> str:
    if value.startswith(_CONTROL_START) or value.lstrip()[:1] in _FORMULA_CHARS:
        return "'" + value
    return value


def _ms(us: float | None) -> str:
    return "" if us is None else f"{us / 1000:.3f}"


def _estimate_ms(us: float | None, digits: int = PERCENTILE_DIGITS) -> str:
    """``us`` in milliseconds to ``digits`` significant figures, in plain notation (a
    spreadsheet reads "1230", not "1.23e+03")."""
    if us is None:
        return ""
    ms = us / 1000
    if ms <= 0:
        return "0"
    decimals = digits - 1 - math.floor(math.log10(ms))
    rounded = round(ms, decimals)
    if rounded >= 10 ** (digits - decimals):  # 999.6 rounds up to 1000: one decimal less
        decimals -= 1
    return f"{rounded:.{max(decimals, 0)}f}"


def csv_response(window: Window, rows: list[dict[str, Any]]) -> HttpResponse:
    fill_percentiles(window, rows)
    fill_users(window, rows)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = HttpResponse(content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="feature-usage-{window.key}-{stamp}.csv"'})
    writer = csv.writer(response)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([
            _text(row["name"]), row["kind"], _text(row["service"]), row["calls"], row["errors"],
            row["users"] or 0,
            _estimate_ms(row["p50"]), _estimate_ms(row["p95"]), _estimate_ms(row["p99"]),
            f"{row['error_rate']:.4f}",
            _ms(row["avg_us"]), _ms(row["max_us"] if row["calls"] else None),
            row["n_plus_one"], row["retries"], row["failed_attempts"],
            row["retried_tasks"]])
    return response
