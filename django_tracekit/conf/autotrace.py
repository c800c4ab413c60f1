"""``TRACEKIT['AUTOTRACE']``: which modules are auto-traced, and from what duration a call
becomes a span (docs/autotrace.md)."""

from __future__ import annotations

from dataclasses import dataclass

from django_tracekit.conf.base import Reader

CHECK_IDS = {"INCLUDE": "E011", "EXCLUDE": "E033", "MIN_DURATION_MS": "E034"}


@dataclass(frozen=True)
class AutotraceSettings:
    include: tuple[str, ...] | None = None  # None: the modules under BASE_DIR; (): off
    exclude: tuple[str, ...] = ()
    min_duration_ms: float = 1.0


def read(r: Reader) -> AutotraceSettings:
    values = r.section("AUTOTRACE")
    modules = "a list of module names"
    return AutotraceSettings(
        include=r.names(values, "INCLUDE", CHECK_IDS["INCLUDE"], "Use e.g. ['shop'].",
                        allow_none=True, wanted=modules),
        exclude=r.names(values, "EXCLUDE", CHECK_IDS["EXCLUDE"],
                        "Use e.g. ['shop.migrations', 'shop.utils.fast_*'].",
                        wanted=modules) or (),
        min_duration_ms=r.number(values, "MIN_DURATION_MS", CHECK_IDS["MIN_DURATION_MS"],
                                 low_inclusive=True),
    )
