"""Texts the usage pages compute for layout: a name's break points, the calls axis, the
trend bars."""

from __future__ import annotations

import re

from django_tracekit.pages.shared.charts import axis_count, bar_chart, sparkline
from django_tracekit.pages.shared.formats import name_parts, word_parts


def test_a_name_breaks_after_each_slash_and_dot_only() -> None:
    route = "GET /api/v2/<uuid:document_id>/"
    assert name_parts(route) == ["GET /", "api/", "v2/", "<uuid:document_id>/"]
    assert "".join(name_parts("shop.orders/Checkout/run")) == "shop.orders/Checkout/run"
    assert name_parts("plain") == ["plain"]


def test_a_service_or_code_path_breaks_between_its_words() -> None:
    assert word_parts("styleguide_example-worker") == ["styleguide_", "example-", "worker"]
    assert word_parts("shop/api/drf_handler") == ["shop/", "api/", "drf_", "handler"]
    assert word_parts("a.b-") == ["a.", "b-"]  # nothing after the last: no empty part
    assert word_parts("plain") == ["plain"]


def test_axis_counts_fit_five_characters() -> None:
    assert [axis_count(v) for v in (0, 2_500, 7_500, 10_000, 12_500, 250_000, 1_250_000,
                                    2_000_000)] == [
        "0", "2,500", "7,500", "10k", "12.5k", "250k", "1.25M", "2M"]
    assert all(len(axis_count(float(v))) <= 5 for v in (9_999, 99_999, 999_999, 5e8))


def test_the_bar_chart_axis_is_compact_and_its_tooltips_exact() -> None:
    svg = str(bar_chart(["a", "b"], [1_234_567, 10], [5, 0], "t", "calls", "errors"))
    assert ">2M</text>" in svg and ">1M</text>" in svg
    assert "a: 1,234,567 calls, 5 errors" in svg


def _bars(svg: str) -> list[tuple[float, float, float]]:
    """(x, width, height) of each bar of a sparkline's path."""
    d = re.search(r'class="tk-spark-bars" d="([^"]*)"', svg)
    assert d is not None
    return [(float(x), float(w), -float(h)) for x, w, h in
            re.findall(r"M(-?[\d.]+) [\d.]+h([\d.]+)v(-[\d.]+)h-[\d.]+z", d.group(1))]


def test_a_sparkline_draws_each_bucket_as_its_own_bar() -> None:
    # Two hour buckets (an error group's "last hour"): the burst is one bar in the second
    # half, nothing drawn over the first hour (no climb from 0 to 13).
    svg = str(sparkline([0, 13], "Errors per hour: X"))
    assert "polyline" not in svg and "polygon" not in svg
    [(x, width, height)] = _bars(svg)
    assert x >= 50 and x + width <= 100 and height == 22
    # Sixty minute buckets with a one-minute burst: one narrow bar at that minute.
    burst = [0] * 60
    burst[17] = 40
    [(x, width, _)] = _bars(str(sparkline(burst, "t")))
    assert x >= 17 * 100 / 60 and x + width <= 18 * 100 / 60
    # One error beside a thousand still shows; a bucket of none draws nothing.
    bars = _bars(str(sparkline([1000, 0, 1], "t")))
    assert len(bars) == 2 and bars[1][2] >= 1.5
    assert _bars(str(sparkline([], "t"))) == [] and _bars(str(sparkline([0, 0], "t"))) == []
