"""Which buckets a usage page reads: the window, and the coarsest rows that add up to it."""

from __future__ import annotations

import random

import pytest

from django_tracekit.pages.shared.window import Window, window_from
from django_tracekit.storage.usage_models import DAY, HOUR, MINUTE, WEEK

NOW = 1_700_000_000 + 5 * HOUR + 17 * MINUTE + 42  # 2023-11-15 ~03:30 UTC: mid-hour


def _tiles(spans: list[tuple[int, int, int]], start: int, end: int, open_end: bool) -> None:
    position = start
    for resolution, a, b in spans:
        assert a == position and a % resolution == 0 and b % resolution == 0 and a < b
        position = b
    assert position == end if not open_end else position >= end


def test_seven_days_read_week_and_day_rows_and_the_hours_before_the_first_midnight() -> None:
    window = window_from({"range": "7d"}, now=NOW)
    assert window.resolution == HOUR and window.open_end
    spans = window.cover()
    _tiles(spans, window.start, window.end, open_end=True)
    # NOW is a Wednesday: the current week began on Thursday at midnight (UTC), so only
    # the hours before that midnight are read besides the week.
    assert [r for r, _, _ in spans] == [HOUR, WEEK]
    hour, week = spans
    assert (hour[2] - hour[1]) // HOUR < 24
    # The current week's row (weeks start on Thursdays, UTC) is read whole: nothing is
    # stored after now.
    assert week[1] == NOW - NOW % WEEK and week[2] == week[1] + WEEK


def test_ninety_days_read_about_twenty_rows() -> None:
    window = window_from({"range": "90d"}, now=NOW)
    spans = window.cover()
    _tiles(spans, window.start, window.end, open_end=True)
    assert sum((b - a) // r for r, a, b in spans) <= 13 + 6
    assert {r for r, _, _ in spans} == {DAY, WEEK}


def test_a_past_custom_range_keeps_exact_edges() -> None:
    window = window_from({"range": "custom", "from": "2023-10-01T05:00+00:00",
                          "to": "2023-10-09T07:30+00:00"}, now=NOW)
    assert window.resolution == DAY and not window.open_end
    assert window.cover() == [(DAY, window.start, window.end)]
    short = window_from({"range": "custom", "from": "2023-10-01T05:00+00:00",
                         "to": "2023-10-03T07:30+00:00"}, now=NOW)
    assert short.resolution == HOUR
    assert short.cover() == [(HOUR, short.start, short.start + 19 * HOUR),
                             (DAY, short.start + 19 * HOUR, short.start + 43 * HOUR),
                             (HOUR, short.start + 43 * HOUR, short.end)]


@pytest.mark.parametrize("finest", [MINUTE, HOUR, DAY, WEEK])
def test_spans_always_tile_the_window(finest: int) -> None:
    rng = random.Random(finest)
    for _ in range(2_000):
        start = rng.randrange(0, 400 * DAY) // finest * finest
        end = start + rng.randrange(1, 50 * DAY // finest + 2) * finest
        open_end = rng.random() < 0.5
        window = Window("custom", start, end, finest, "", open_end=open_end)
        _tiles(window.cover(), start, end, open_end)
