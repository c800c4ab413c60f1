"""Server-side SVG charts: no JavaScript, no CDN, no network; colours from admin CSS variables.

Why SVG on the server: the admin must work offline and under a strict CSP, charts must be in
the page the moment it renders (screenshots, printing), and a few hundred points do not need
a charting library. Every piece of text (labels, tooltips) goes through ``escape``; numbers
are formatted here. Styling is by class (``tk-*``, defined in the page's stylesheet) so dark
mode follows the admin's ``--primary``/``--error-fg``/``--body-quiet-color`` variables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 800, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 14, 28


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1.0
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(value)


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def axis_count(value: float) -> str:
    """A count on the calls axis, at most 5 characters ("7,500", "12.5k", "2M"): it stays
    inside the axis margin at the larger type a phone needs (the tooltips keep the exact
    count)."""
    if value < 1e4:
        return _fmt(value)
    for scale, unit in ((1e3, "k"), (1e6, "M"), (1e9, "G")):
        text = f"{value / scale:.3g}"
        if "e" not in text and float(text) < 1000:  # 999,999 is "1M", not "1e+03k"
            return text + unit
    return f"{value / 1e9:.0f}G"


def fmt_count(value: float) -> str:
    """A count on an axis or in a tooltip."""
    return _fmt(value)


def _frame(y_max: float, y_format: Callable[[float], str], x_labels: Sequence[tuple[float, str]],
           title: str) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [f'<svg class="tk-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">',
             f"<title>{escape(title)}</title>"]
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        parts.append(f'<line class="tk-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
                     f'y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tk-axis" x="{LEFT - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{escape(y_format(y_max * fraction))}</text>')
    for n, (x, label) in enumerate(x_labels):
        # The outer labels align inward so they are never clipped at the edges.
        anchor = "start" if n == 0 else "end" if n == len(x_labels) - 1 else "middle"
        x = LEFT if anchor == "start" else WIDTH - RIGHT if anchor == "end" else x
        # Odd ones ("tk-axis-odd") are left out on a phone, where five would overlap.
        odd = " tk-axis-odd" if n % 2 else ""
        parts.append(f'<text class="tk-axis{odd}" x="{x:.1f}" y="{HEIGHT - 8}" '
                     f'text-anchor="{anchor}">{escape(label)}</text>')
    return parts


def _x_labels(count: int, labels: Sequence[str], slot: float) -> list[tuple[float, str]]:
    if count == 0:
        return []
    picks = sorted({0, count // 4, count // 2, (3 * count) // 4, count - 1})
    return [(LEFT + slot * (i + 0.5), labels[i]) for i in picks]


def bar_chart(labels: Sequence[str], calls: Sequence[int], errors: Sequence[int],
              title: str, calls_label: str, errors_label: str) -> SafeString:
    """Calls per bucket as bars, the errors part of each bar in the error colour."""
    count = len(calls)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    y_max = _nice_max(max(calls, default=0))
    slot = plot_w / max(count, 1)
    bar_w = max(slot * 0.8, 1.0)
    parts = _frame(y_max, axis_count, _x_labels(count, labels, slot), title)
    for i, (n, e) in enumerate(zip(calls, errors, strict=True)):
        x = LEFT + slot * i + (slot - bar_w) / 2
        tip = f"{labels[i]}: {n:,} {calls_label}, {e:,} {errors_label}"
        parts.append(f'<g><title>{escape(tip)}</title>')
        # A transparent full-height hit area: the tooltip works on empty buckets too.
        parts.append(f'<rect class="tk-hit" x="{LEFT + slot * i:.2f}" y="{TOP}" '
                     f'width="{slot:.2f}" height="{plot_h}"/>')
        if n:
            h = plot_h * n / y_max
            parts.append(f'<rect class="tk-calls" x="{x:.2f}" y="{TOP + plot_h - h:.2f}" '
                         f'width="{bar_w:.2f}" height="{h:.2f}"/>')
        if e:
            h = plot_h * e / y_max
            parts.append(f'<rect class="tk-errors" x="{x:.2f}" y="{TOP + plot_h - h:.2f}" '
                         f'width="{bar_w:.2f}" height="{h:.2f}"/>')
        parts.append("</g>")
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated text is escaped above


def line_chart(labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[float | None]]],
               title: str, y_format: Callable[[float], str]) -> SafeString:
    """One polyline per series (name, css class, values); gaps where a value is None."""
    count = len(labels)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [v for _, _, vs in series for v in vs if v is not None]
    y_max = _nice_max(max(values, default=0.0))
    slot = plot_w / max(count, 1)
    parts = _frame(y_max, y_format, _x_labels(count, labels, slot), title)
    for name, css, vs in series:
        runs: list[list[str]] = [[]]
        for i, v in enumerate(vs):
            if v is None:
                if runs[-1]:
                    runs.append([])
                continue
            x = LEFT + slot * (i + 0.5)
            y = TOP + plot_h * (1 - v / y_max)
            runs[-1].append(f"{x:.1f},{y:.1f}")
            parts.append(f'<circle class="{css} tk-dot" cx="{x:.1f}" cy="{y:.1f}" r="2.5">'
                         f"<title>{escape(f'{labels[i]}: {name} {y_format(v)}')}</title>"
                         "</circle>")
        for run in runs:
            if len(run) > 1:
                parts.append(f'<polyline class="{css} tk-line" points="{" ".join(run)}"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated text is escaped above


def sparkline(values: Sequence[int], title: str) -> SafeString:
    """A small bar chart of counts per bucket (the trend column): one bar per bucket, on a
    baseline.

    Bars, not a line: a line between two points draws a steady climb where there was a
    burst (an error group's "last hour" has two hour buckets, 0 and 13; a one-minute burst
    read as a ramp across the whole range). A bar says "this many in this bucket" and
    nothing about the time between buckets. A bucket with any count is at least a sliver
    high, so one error beside a thousand still shows."""
    w, h = 100, 24
    count = len(values)
    top = max(values, default=0) or 1
    slot = w / max(count, 1)
    # A gap between bars where there is room for one; a few buckets are not drawn as slabs
    # as wide as the cell (two hour buckets read as two bars, not as a filled box).
    bar = min(max(slot * 0.75, slot - 1), 12.0) if slot > 1.5 else slot
    bars = []
    for i, v in enumerate(values):
        if v <= 0:
            continue
        height = max((h - 2) * v / top, 1.5)
        x = i * slot + (slot - bar) / 2
        bars.append(f"M{x:.2f} {h - 1}h{bar:.2f}v{-height:.2f}h{-bar:.2f}z")
    return mark_safe(  # the title is escaped, the rest are numbers
        f'<svg class="tk-spark" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        f'aria-label="{escape(title)}" data-buckets="{count}"><title>{escape(title)}</title>'
        f'<line class="tk-spark-base" x1="0" x2="{w}" y1="{h - 0.5}" y2="{h - 0.5}"/>'
        f'<path class="tk-spark-bars" d="{"".join(bars)}"/></svg>')
