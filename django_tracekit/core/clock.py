"""The real clocks, whatever a test library makes of the ``time`` module.

freezegun's ``freeze_time`` replaces ``time.time``/``time_ns``/``perf_counter``/
``monotonic`` and every module attribute that *is* one of them (``from time import
time_ns`` in OpenTelemetry's SDK, ``clock = time.perf_counter``), so spans recorded under
it (a test run, a data command run under ``freeze_time``) would start in 1970 or on the
frozen date and last 0 s. Adding tracekit to freezegun's ignore list is not the way: the
list is matched against the whole call stack, so a view called by tracekit's middleware
would see the real time and the project's frozen-time tests would break (dd-trace-py
took the same way out, DataDog/dd-trace-py#14036).

The functions here come from a private instance of the ``time`` module
(``importlib.util.module_from_spec``): the same C functions, at the same cost, but other
objects than ``time.*``, so a patcher that looks for ``time.*`` by identity leaves them
alone. On an interpreter where that instance cannot be made, they are the functions of
``time`` as at import (still real unless patched by then).
"""

from __future__ import annotations

import importlib.util
import sys
import time
import types
from collections.abc import Callable
from typing import Any

EARLIEST_NS = 946_684_800 * 10**9  # 2000-01-01: a span time before it was not a real clock
TOLERANCE_NS = 3600 * 10**9  # a span's end seen this far from now was timed by another clock


def _private_time() -> types.ModuleType | None:
    try:
        spec = importlib.util.find_spec("time")
        if spec is None or spec.loader is None:
            return None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except Exception:  # an interpreter without multi-phase init for time: the fallback
        return None
    return module if module.perf_counter is not time.perf_counter else None


def _real(name: str) -> Any:
    if _private is not None:
        return getattr(_private, name)
    current = getattr(time, name)
    if getattr(current, "__module__", None) == "freezegun.api":  # imported under freeze_time
        current = getattr(sys.modules["freezegun.api"], f"real_{name}", current)

    # No private instance: a function holding the real one where no module attribute can
    # be found by identity (one Python call more per read).
    def call(real: Callable[[], Any] = current) -> Any:
        return real()
    return call


_private = _private_time()
time_ns: Callable[[], int] = _real("time_ns")
perf_counter: Callable[[], float] = _real("perf_counter")
perf_counter_ns: Callable[[], int] = _real("perf_counter_ns")
monotonic: Callable[[], float] = _real("monotonic")


def correction_ns(end_ns: int, now_ns: int | None = None) -> int:
    """What to add to a span's times so they are on the real clock: 0, unless the span
    ended before 2000 or more than an hour in the future (a frozen or faked clock), then the
    shift that makes it end now (its duration is kept). A span that ended in the past after
    2000 keeps its times: it may have been ended with an explicit time (a replay, a test)."""
    now = time_ns() if now_ns is None else now_ns
    if end_ns < EARLIEST_NS or end_ns - now > TOLERANCE_NS:
        return now - end_ns
    return 0


SDK_MODULE = "opentelemetry.sdk.trace"


def shield_sdk() -> bool:
    """Make OpenTelemetry's SDK stamp spans with the real clock: its ``Span.start``/``end``
    and events call its module's ``time_ns`` (``from time import time_ns``), which a
    freezer would replace; bound to ours, it is left alone. Only when it is the standard
    function (or a freezer's): a clock someone else put there is kept. True if shielded."""
    module = sys.modules.get(SDK_MODULE)
    current = getattr(module, "time_ns", None)
    if module is None or current is None:
        return False
    if current is time_ns:
        return True
    if current is not time.time_ns and getattr(current, "__module__", None) != "freezegun.api":
        return False
    setattr(module, "time_ns", time_ns)  # noqa: B010 - a module's attribute, by name
    return True


__all__ = ["EARLIEST_NS", "SDK_MODULE", "TOLERANCE_NS", "correction_ns", "monotonic",
           "perf_counter", "perf_counter_ns", "shield_sdk", "time_ns"]
