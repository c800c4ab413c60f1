"""The one overhead-budget table `make bench` ends with (issue 24's rows, issue 26's DRF row).

Each bench script measures its own figures as before and, through :func:`record`, also
appends them (one JSON line each) to the file named by ``TRACEKIT_BENCH_SUMMARY`` (set by
``run.py``; unset when a bench runs alone: nothing is written). ``run.py`` then prints
:func:`table`: every row with its goal, the peer measured in the same run and a verdict. No
measurement happens here: the rows are ratios of what the benches recorded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ENV = "TRACEKIT_BENCH_SUMMARY"

Figures = dict[str, float]


def record(**figures: float) -> None:
    """Append ``figures`` (seconds, ratios or MB, as named) to the run's summary file."""
    target = os.environ.get(ENV)
    if not target:
        return
    with open(target, "a", encoding="utf-8") as f:
        f.write(json.dumps(figures) + "\n")


def load(path: Path) -> Figures:
    figures: Figures = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                figures.update(json.loads(line))
    return figures


@dataclass(frozen=True)
class Row:
    figure: str
    source: str  # the bench that measures it
    goal: str
    # figures -> (tracekit's figure, the peer's figure, met); None when not measured
    judge: Callable[[Figures], tuple[str, str, bool] | None]


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.3f} µs"


def _ratio_row(key: str, goal: float, peer: str) -> Callable[[Figures], tuple[str, str, bool]
                                                             | None]:
    def judge(f: Figures) -> tuple[str, str, bool] | None:
        if key not in f:
            return None
        return f"{f[key]:.2f}x", peer, f[key] <= goal
    return judge


def _depth(depth: int) -> Callable[[Figures], tuple[str, str, bool] | None]:
    def judge(f: Figures) -> tuple[str, str, bool] | None:
        ours, probe = f.get(f"autotrace.depth{depth}"), f.get("autotrace.logfire_probe")
        if ours is None:
            return None
        if probe is None:
            return _us(ours), "Logfire not measured", False
        return (f"{_us(ours)} ({ours / probe:.2f}x the probe)", f"probe {_us(probe)}",
                ours <= probe)
    return judge


def _view(f: Figures) -> tuple[str, str, bool] | None:
    if "autotrace.view_201" not in f or "autotrace.contrib_request" not in f:
        return None
    ratio = f["autotrace.view_201"] / f["autotrace.contrib_request"]
    return (f"{ratio:.2f}x ({_us(f['autotrace.view_201'])})",
            f"contrib {_us(f['autotrace.contrib_request'])}", ratio <= 0.5)


def _no_trace(f: Figures) -> tuple[str, str, bool] | None:
    if "autotrace.no_trace" not in f or "autotrace.plain" not in f:
        return None
    ratio = f["autotrace.no_trace"] / f["autotrace.plain"]
    return (f"{ratio:.1f}x ({_us(f['autotrace.no_trace'])} added)",
            f"plain call {_us(f['autotrace.plain'])}", ratio <= 4.0)


def _kept(f: Figures) -> tuple[str, str, bool] | None:
    if "autotrace.kept" not in f or "autotrace.sdk_decorator" not in f:
        return None
    ratio = f["autotrace.kept"] / f["autotrace.sdk_decorator"]
    return f"{ratio:.3f}x", f"SDK decorator {_us(f['autotrace.sdk_decorator'])}", ratio <= 0.25


def _request(f: Figures) -> tuple[str, str, bool] | None:
    if "request.tracekit" not in f or "request.otel-contrib" not in f:
        return None
    ratio = f["request.tracekit"] / f["request.otel-contrib"]
    return (f"{ratio:.2f}x ({_us(f['request.tracekit'])})",
            f"contrib {_us(f['request.otel-contrib'])}", ratio <= 0.6)


def _cache(f: Figures) -> tuple[str, str, bool] | None:
    if "cache.ratio" not in f:
        return None
    return (f"{f['cache.ratio']:.2f}x ({_us(f['cache.tracekit'])})",
            f"Sentry {_us(f['cache.sentry'])}", f["cache.ratio"] <= 0.25)


def _memory(f: Figures) -> tuple[str, str, bool] | None:
    if "memory.added_mb" not in f:
        return None
    return (f"+{f['memory.added_mb']:.1f} MB", f"worker without tracekit "
            f"{f['memory.base_mb']:.1f} MB", f["memory.added_mb"] <= 5.0)


def _startup(key: str) -> Callable[[Figures], tuple[str, str, bool] | None]:
    def judge(f: Figures) -> tuple[str, str, bool] | None:
        if key not in f:
            return None
        cpu = f" (CPU time {f[key + '_cpu']:.2f}x)" if key + "_cpu" in f else ""
        return (f"{f[key]:.2f}x{cpu}", f"without tracekit {f[key + '_base'] * 1e3:.0f} ms",
                f[key] <= 1.3)
    return judge


def _drf(f: Figures) -> tuple[str, str, bool] | None:
    if "drf.tracekit" not in f:
        return None
    peers = ", ".join(f"{name} {f['drf.' + key]:.3f}x" for name, key in (
        ("contrib", "otel-contrib"), ("Sentry", "sentry"), ("ddtrace", "ddtrace"))
        if "drf." + key in f)
    return f"{f['drf.tracekit']:.3f}x", peers, f["drf.tracekit"] >= 0.95


ROWS = (
    *(Row(f"auto-traced call below threshold, in a recorded trace, depth {d}",
          "bench_autotrace", "≤ Logfire's probe (≤ 0.3 µs)", _depth(d)) for d in (10, 50, 200)),
    Row("… a 201-call view, over contrib's request overhead", "bench_autotrace", "≤ 0.5x",
        _view),
    Row("… outside any trace, added vs a plain call", "bench_autotrace", "≤ 4x", _no_trace),
    Row("kept auto-traced span vs the SDK decorator", "bench_autotrace", "≤ 0.25x", _kept),
    Row("tracekit.span() sampled vs start_as_current_span", "bench_core", "≤ 1.0x",
        _ratio_row("core.span_ratio", 1.0, "SDK, same provider")),
    Row("request overhead vs contrib's Django instrumentation", "bench_request", "≤ 0.6x",
        _request),
    Row("one cache get in a request vs Sentry's cache span", "bench_cache", "≤ 0.25x", _cache),
    Row("log record as span event vs contrib's LoggingInstrumentor", "bench_logs", "≤ 1.0x",
        _ratio_row("logs.ratio", 1.0, "contrib (ids only)")),
    Row("gunicorn worker RSS added", "bench_memory", "≤ +5 MB", _memory),
    *(Row(f"start-up (manage.py check), {project}, {how}", "bench_startup", "≤ 1.3x",
          _startup(f"startup.{size}.{key}"))
      for size, project in (("example", "example project"),
                            ("bulk", "+ an app of 60 modules"))
      for key, how in (("written", "bytecode written"),
                       ("dontwrite", "PYTHONDONTWRITEBYTECODE=1"))),
    Row("DRF list endpoint (25 nested objects): throughput vs none", "bench_drf", "≥ 0.95x",
        _drf),
)


def table(figures: Figures) -> str:
    lines = ["| figure | tracekit | peer / baseline (same run) | goal | verdict | bench |",
             "|---|--:|--:|--:|:-:|---|"]
    for row in ROWS:
        judged = row.judge(figures)
        if judged is None:
            lines.append(f"| {row.figure} | not measured | | {row.goal} | - | {row.source} |")
            continue
        ours, peer, met = judged
        lines.append(f"| {row.figure} | {ours} | {peer} | {row.goal} | "
                     f"{'met' if met else 'NOT met'} | {row.source} |")
    return "\n".join(lines)
