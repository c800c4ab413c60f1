"""The real clocks under freezegun's frozen clock (the real package, not a stand-in)."""

from __future__ import annotations

import datetime
import sys
import time
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from django_tracekit.core import clock

pytestmark = pytest.mark.requires("freezegun")

SECOND = 10**9


@pytest.fixture
def shielded() -> Iterator[None]:
    module = sys.modules[clock.SDK_MODULE]
    original = module.time_ns  # type: ignore[attr-defined]
    assert clock.shield_sdk() is True
    try:
        yield
    finally:
        module.time_ns = original  # type: ignore[attr-defined]


def test_the_real_clocks_run_while_the_projects_clock_is_frozen() -> None:
    from freezegun import freeze_time

    before = time.time_ns()
    with freeze_time("1970-01-02"):
        assert time.time_ns() == 86_400 * SECOND  # the project's code sees the frozen time
        assert datetime.datetime.now().year == 1970
        assert abs(clock.time_ns() - before) < 60 * SECOND
        assert time.perf_counter() == time.perf_counter()  # frozen too
        started = clock.perf_counter()
        time.sleep(0.02)
        assert clock.perf_counter() - started >= 0.02


def test_sdk_spans_are_stamped_by_the_real_clock(shielded: None) -> None:
    from freezegun import freeze_time

    tracer = TracerProvider().get_tracer("test")
    for frozen in ("1970-01-02", "2024-01-01"):  # a second freeze: still shielded
        before = time.time_ns()
        with freeze_time(frozen):
            span = tracer.start_span("create_test_event")
            time.sleep(0.02)
            span.end()
            assert datetime.datetime.now().year in (1970, 2024)
        assert span.start_time is not None and span.end_time is not None
        assert before <= span.start_time <= time.time_ns()
        assert span.end_time - span.start_time >= 20_000_000


def test_a_clock_put_there_by_someone_else_is_kept() -> None:
    module = sys.modules[clock.SDK_MODULE]
    original = module.time_ns  # type: ignore[attr-defined]

    def theirs() -> int:
        return 42

    module.time_ns = theirs  # type: ignore[attr-defined]
    try:
        assert clock.shield_sdk() is False
        assert module.time_ns is theirs  # type: ignore[attr-defined]
    finally:
        module.time_ns = original  # type: ignore[attr-defined]


def test_correction_moves_only_implausible_times() -> None:
    now = time.time_ns()
    assert clock.correction_ns(now) == 0
    assert clock.correction_ns(now - 60 * SECOND) == 0  # a span that ended a minute ago
    # Ended with an explicit past time (a replay, a test's fixed window): kept.
    assert clock.correction_ns(now - 2 * 3600 * SECOND) == 0
    for faked in (0, 86_400 * SECOND, now + 2 * 3600 * SECOND):
        shifted = faked + clock.correction_ns(faked)
        assert abs(shifted - time.time_ns()) < 60 * SECOND


def test_without_a_private_time_module_the_clocks_are_still_real(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # An interpreter whose time module cannot be instantiated twice: the real functions are
    # held where freezegun's scan of module attributes cannot find them.
    from freezegun import freeze_time

    monkeypatch.setattr(clock, "_private", None)
    time_ns, perf_counter = clock._real("time_ns"), clock._real("perf_counter")
    before = time.time_ns()
    with freeze_time("1970-01-02"):
        assert abs(time_ns() - before) < 60 * SECOND
        started = perf_counter()
        time.sleep(0.02)
        assert perf_counter() - started >= 0.02
