"""Version deltas: a change within the estimator's error is "no significant change"."""

from __future__ import annotations

import pytest

from django_tracekit.core.histogram import RELATIVE_ERROR, bucket_index, quantiles
from django_tracekit.pages.shared import significance


def _estimate(ms: float) -> float:
    (value,) = quantiles({bucket_index(int(ms * 1e6)): 100}, (0.95,))
    assert value is not None
    return value


def test_the_issue_s_example_is_no_significant_change() -> None:
    # GET /const/: true p95 57.06 -> 54.31 ms (-4.8 %) read as 59.9 -> 50.3 (-16 %).
    before, after = _estimate(57.06), _estimate(54.31)
    assert after < before  # neighbouring buckets: the estimates differ by a whole bucket
    change = significance.latency_change(before, after, RELATIVE_ERROR)
    assert change is not None and not change.significant
    assert change.text == "no significant change" and not change.worse
    assert "-4" not in change.text


def test_two_buckets_apart_is_a_change_with_its_bounds() -> None:
    change = significance.latency_change(_estimate(20), _estimate(80), RELATIVE_ERROR)
    assert change is not None and change.significant and change.worse
    assert change.text == "+300 %"
    assert "true change between" in change.detail


def test_the_bound_is_the_estimator_s_parameter() -> None:
    # 3 % slower: within a 1.93 % histogram's error, beyond a 1 % sketch's.
    assert not significance.latency_change(100.0, 103.0, RELATIVE_ERROR).significant  # type: ignore[union-attr]
    sketch = significance.latency_change(100.0, 103.0, 0.01)
    assert sketch is not None and sketch.significant and sketch.text == "+3 %"
    faster = significance.latency_change(100.0, 90.0, 0.01)
    assert faster is not None and faster.better and not faster.worse
    assert significance.latency_change(None, 5.0, 0.01) is None
    with pytest.raises(ValueError):
        significance.latency_change(1.0, 2.0, 1.0)


@pytest.mark.parametrize(("before", "after", "significant", "text"), [
    ((0, 5), (5, 5), True, "+100 pp"),
    ((0, 1), (1, 1), False, "no significant change"),  # one call each: noise
    ((2, 200), (5, 50), True, "+9.0 pp"),
    ((10, 1000), (12, 1000), False, "no significant change"),
    ((50, 100), (10, 100), True, "-40 pp"),
])
def test_error_rates_by_a_two_proportion_test(before: tuple[int, int], after: tuple[int, int],
                                              significant: bool, text: str) -> None:
    change = significance.rate_change(*before, *after)
    assert change is not None
    assert (change.significant, change.text) == (significant, text)
    assert change.worse == (significant and text.startswith("+"))


def test_no_rate_change_without_calls() -> None:
    assert significance.rate_change(0, 0, 1, 1) is None
    assert significance.z_score(0, 10, 0, 10) == 0.0


def test_a_few_calls_are_never_a_significant_latency_change() -> None:
    # 8x slower is a change with enough calls on both sides; with 3 calls on one it is one
    # slow call (found on a real project: a 3-call login flagged +676 %).
    assert significance.latency_change(20.0, 160.0, 0.0864, (100, 100)).significant
    few = significance.latency_change(20.0, 160.0, 0.0864,
                                      (significance.MIN_LATENCY_CALLS - 1, 100))
    assert few is not None and not few.significant


def _calls(*groups: tuple[int, float]) -> list[tuple[int, int]]:
    """A histogram of ``count`` calls at ``ms`` for each (count, ms)."""
    return sorted((bucket_index(int(ms * 1e6)), count) for count, ms in groups)


def _p95_change(before: list[tuple[int, int]],
                after: list[tuple[int, int]]) -> significance.Change:
    sides = []
    for hist in (before, after):
        (p95,) = quantiles(hist, (0.95,))
        sides.append((p95, sum(n for _, n in hist), significance.quantile_interval(hist, 0.95)))
    (b, bn, bi), (a, an, ai) = sides
    change = significance.latency_change(b, a, RELATIVE_ERROR, (bn, an), (bi, ai))
    assert change is not None
    return change


def test_a_p95_of_forty_calls_moving_is_sampling_noise() -> None:
    # p95 of 40 calls is the 38th: three slow calls of 15 ms, then of 24 ms, read +60 %
    # (a real project's releases page flagged such routes "regressed" on a busy machine).
    before, after = _calls((37, 10), (3, 15)), _calls((37, 10), (3, 24))
    estimates_only = significance.latency_change(
        *(quantiles(h, (0.95,))[0] for h in (before, after)), RELATIVE_ERROR, (40, 40))
    assert estimates_only is not None and estimates_only.significant  # what the page said
    assert significance.quantile_interval(before, 0.95)[1] is None  # open above
    change = _p95_change(before, after)
    assert not change.significant and change.text == "no significant change"
    assert "too few calls to tell" in change.detail  # the tooltip says why


def test_a_shift_of_many_calls_is_a_change() -> None:
    change = _p95_change(_calls((950, 10), (50, 12)), _calls((950, 20), (50, 25)))
    assert change.significant and change.worse
    faster = _p95_change(_calls((950, 20), (50, 25)), _calls((950, 10), (50, 12)))
    assert faster.significant and faster.better


def test_the_quantile_interval_brackets_the_estimate() -> None:
    hist = _calls(*((10, ms) for ms in range(1, 101)))  # 1,000 calls, 1..100 ms
    low, high = significance.quantile_interval(hist, 0.95)
    (p95,) = quantiles(hist, (0.95,))
    assert low is not None and high is not None and p95 is not None
    assert low <= p95 <= high and low < high
    assert low > 90e3 and high < 99e3  # ranks 936..964 of 1,000: 94-97 ms (µs here)
    assert significance.quantile_interval([], 0.95) == (None, None)
    # The median of 3 calls: both ranks fall outside them.
    assert significance.quantile_interval(_calls((1, 1), (1, 2), (1, 3)), 0.5) == (None, None)
