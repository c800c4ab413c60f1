"""Instructions per operation (valgrind callgrind): the figures wall time cannot give on a
machine shared with other test suites (instruction counts do not move with the load).

    .venv/bin/python benchmarks/instructions.py micro [N]      auto-traced calls, spans
    .venv/bin/python benchmarks/instructions.py drf CONFIG [N]  DRF list requests
    .venv/bin/python benchmarks/instructions.py request [N]     bench_request's hello-world
                                                                view: bare, tracekit, contrib
    .venv/bin/python benchmarks/instructions.py logs [N]        bench_logs' contenders
    .venv/bin/python benchmarks/instructions.py span [N]        bench_core's span() vs the SDK

One process under ``valgrind --tool=callgrind``; every measured region starts and ends with a
call of ``os.getloadavg`` (``--dump-before``): each region is its own dump, so the set-up is
not counted. ``micro`` runs ``bench_autotrace``'s subjects (10 calls per operation, the
plain-call loop subtracted): outside a trace, directly under the attached context (a
boundary call), under 10/50/200 pending auto-traced frames, kept (every call a span), and
the SDK decorator. ``drf`` runs ``bench_drf``'s list request: CONFIG is ``none``,
``tracekit`` or ``tracekit:{JSON}`` (TRACEKIT keys merged, as ``BENCH_DRF_TRACEKIT``), with
the flusher threads' interval raised to an hour (their wall-clock period would charge them
~50x their share under valgrind).
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from _contenders import dropping_processor  # noqa: E402

__all__ = ["dropping_processor"]  # TRACEKIT['EXPORTER'] = "__main__.dropping_processor"

MARK = "os_getloadavg"  # the C function whose entry ends one dump and starts the next


def _regions(out_dir: Path, prefix: str) -> list[int]:
    """Instructions of each dump, in order (dump 1 is the set-up)."""
    counts: list[tuple[int, int]] = []
    for path in out_dir.glob(f"{prefix}*"):
        match = re.search(r"\.(\d+)$", path.name)
        number = int(match.group(1)) if match else 1 << 30  # the final dump, at exit
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("summary:") or line.startswith("totals:"):
                counts.append((number, int(line.split()[1])))
                break
    return [ir for _, ir in sorted(counts)]


def _run_valgrind(args: list[str], env: dict[str, str] | None = None) -> tuple[list[int], str]:
    with tempfile.TemporaryDirectory(prefix="tk-ir-") as tmp:
        out = Path(tmp) / "cg.out"
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--dump-before={MARK}", "--dump-instr=no",
             "--compress-strings=no", f"--callgrind-out-file={out}", sys.executable, __file__,
             *args],
            capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0",
                                                 **(env or {})}, timeout=3600)
        if done.returncode:
            raise SystemExit(done.stderr[-3000:])
        return _regions(Path(tmp), "cg.out"), done.stdout


def _mark() -> None:
    os.getloadavg()


def child_micro(number: int) -> None:
    import bench_autotrace as bench

    from django_tracekit.core.tracer import get_tracer
    from django_tracekit.sources.autotrace import runtime

    tmp = Path(tempfile.mkdtemp(prefix="tk-ir-"))
    bench._setup_django(tmp, flush_interval_s=3600)  # as for ``drf``: flushed at exit
    runtime.set_threshold(0.001)
    runtime.hook_context()
    plain = bench._module("ir_plain", bench.SUBJECT, traced=False)
    traced = bench._module("ir_traced", bench.SUBJECT, traced=True)
    deep = bench._module("ir_depth", bench.DEPTH_MODULE, traced=True)
    tracer = get_tracer()
    sdk = tracer.start_as_current_span("f")(plain.f)

    def repeat(loop: Callable[[], None], n: int) -> Callable[[], None]:
        def run() -> None:
            for _ in range(n):
                loop()
        return run

    def in_trace(run: Callable[[], None]) -> Callable[[], None]:
        return bench._in_trace(run, tracer)

    def at_depth(depth: int, run: Callable[[], None]) -> Callable[[], None]:
        return in_trace(functools.partial(deep.down, depth, run))

    few = max(1, number // 20)  # spans: fewer operations
    # name -> (what runs n operations of 10 calls, its baseline (the plain loop run the same
    # way), n)
    Factory = Callable[[int], Callable[[], None]]
    scenarios: dict[str, tuple[Factory, str, int]] = {
        "plain call": (lambda n: repeat(bench._ten(plain.f), n), "", number),
        "below threshold, no trace": (
            lambda n: repeat(bench._ten(traced.f), n), "plain call", number),
        "plain call, in trace": (
            lambda n: in_trace(repeat(bench._ten(plain.f), n)), "", number),
        "below threshold, boundary call in trace": (
            lambda n: in_trace(repeat(bench._ten(traced.f), n)), "plain call, in trace",
            number),
    }
    for depth in (10, 50, 200):
        scenarios[f"plain call, depth {depth}"] = (
            lambda n, d=depth: at_depth(d, repeat(bench._ten(plain.f), n)), "", number)
        scenarios[f"below threshold, depth {depth}"] = (
            lambda n, d=depth: at_depth(d, repeat(bench._ten(traced.f), n)),
            f"plain call, depth {depth}", number)
    scenarios["plain call, in trace, spans' loop"] = (
        lambda n: in_trace(repeat(bench._ten(plain.f), n)), "", few)
    scenarios["kept (span per call)"] = (
        lambda n: in_trace(bench._kept(repeat(bench._ten(traced.f), n))),
        "plain call, in trace, spans' loop", few)
    scenarios["SDK start_as_current_span decorator"] = (
        lambda n: in_trace(repeat(bench._ten(sdk), n)), "plain call, in trace, spans' loop", few)
    for factory, _, n in scenarios.values():
        factory(max(1, n // 10))()  # warm: names, caches, first spans
        _mark()
        factory(n)()
        _mark()
    print(json.dumps({"names": list(scenarios), "baselines": [b for _, b, _ in scenarios.values()],
                      "calls": [n * 10 for _, _, n in scenarios.values()]}))


def parent_micro(number: int) -> None:
    regions, stdout = _run_valgrind(["child-micro", str(number)])
    info = json.loads(stdout.strip().splitlines()[-1])
    names, baselines, calls = info["names"], info["baselines"], info["calls"]
    # dumps: the set-up and first warm-up, then per scenario: the run, the next warm-up
    per_call = {name: regions[1 + 2 * i] / calls[i] for i, name in enumerate(names)}
    print(f"Instructions per call (callgrind; {number} x 10 calls per region, 1/20 of that "
          f"for spans; Python {sys.version.split()[0]})")
    print("| figure | instructions per call | added vs its plain baseline |")
    print("|---|--:|--:|")
    for name, baseline in zip(names, baselines, strict=True):
        added = per_call[name] - per_call[baseline] if baseline else 0.0
        print(f"| {name} | {per_call[name]:.0f} | {added:.0f} |" if baseline
              else f"| {name} | {per_call[name]:.0f} | |")


def child_drf(config: str, number: int) -> None:
    import bench_drf

    name, _, extra = config.partition(":")
    # The flusher threads run every FLUSH_INTERVAL_S of wall time: under valgrind a region
    # lasts ~50x longer, so they would be charged ~50x their share. Flushed once, at exit.
    settings = json.loads(extra or "{}")
    settings.setdefault("STATS", {}).setdefault("FLUSH_INTERVAL_S", 3600)
    os.environ["BENCH_DRF_TRACEKIT"] = json.dumps(settings)
    base = Path(tempfile.mkdtemp(prefix="tk-ir-drf-"))
    bench_drf.write_app(base)
    bench_drf.SETUPS[name](base)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", run_syncdb=True, verbosity=0)
    bench_drf.seed()
    _count_requests(*bench_drf.wsgi_request(bench_drf.PATH), number)


def _count_requests(one_request: Callable[[], object], statuses: list[str],
                    number: int) -> None:
    """Three requests of warm-up, then ``number`` of them in a region of their own."""
    for _ in range(3):
        one_request()
    assert statuses[-1] == "200 OK", statuses[-1]
    _mark()
    for _ in range(number):
        one_request()
    _mark()


def parent_drf(config: str, number: int) -> None:
    regions, _ = _run_valgrind(["child-drf", config, str(number)])
    print(f"| DRF list request, {config} | {regions[1] / number:,.0f} instructions/request |")


def child_request(config: str, number: int) -> None:
    import bench_request

    bench_request.SETUPS[config]()
    from django.conf import settings

    tracekit = getattr(settings, "TRACEKIT", None)
    if isinstance(tracekit, dict):  # the flushers: out of the region, as for ``drf``
        tracekit.setdefault("STATS", {})["FLUSH_INTERVAL_S"] = 3600
    import django

    django.setup()
    _count_requests(*bench_request.wsgi_request(bench_request.PATH), number)


def parent_request(number: int) -> None:
    """bench_request's hello-world view: the overhead over bare Django, tracekit vs
    opentelemetry-instrumentation-django, in instructions (one process per contender)."""
    per = {}
    for config in ("bare", "tracekit", "otel-contrib"):
        regions, _ = _run_valgrind(["child-request", config, str(number)])
        per[config] = regions[1] / number
    print(f"Instructions per request (callgrind, {number} requests; Python "
          f"{sys.version.split()[0]})")
    print("| contender | instructions/request | added over bare |")
    print("|---|--:|--:|")
    for config, value in per.items():
        print(f"| {config} | {value:,.0f} | {value - per['bare']:,.0f} |")
    added = per["otel-contrib"] - per["bare"]
    if added > 0:
        print(f"\ntracekit overhead / contrib overhead: "
              f"{(per['tracekit'] - per['bare']) / added:.2f}x")


def _count_each(contenders: dict[str, Callable[[], Any]], number: int) -> None:
    """Per contender: a tenth of ``number`` calls of warm-up, then ``number`` in a region."""
    for func in contenders.values():
        for _ in range(max(1, number // 10)):
            func()
        _mark()
        for _ in range(number):
            func()
        _mark()
    print(json.dumps(list(contenders)))


def child_logs(number: int) -> None:
    os.environ["TRACEKIT_BENCH_FLUSH_INTERVAL_S"] = "3600"  # the flusher: out of the regions
    import bench_logs

    bench_logs.check()
    for name, (state, cap, func) in bench_logs.CONTENDERS.items():
        with state(), cap():  # the span of a contender starts and ends outside its region
            _count_each({name: func}, number)


def child_span(number: int) -> None:
    import bench_core

    location = bench_core.naming.location_for(bench_core.tk_span)
    tracer = bench_core.TRACER
    _count_each({
        "SDK start_as_current_span(name)": bench_core.make_sdk_span(tracer, location.name),
        "tracekit.span()": bench_core.tk_span,
        "SDK start_as_current_span(name, attributes=code.*)": bench_core.make_sdk_span_attrs(
            tracer, location.name, dict(location.attributes)),
    }, number)


def parent_each(mode: str, number: int, baseline: str) -> None:
    """One process runs every contender of ``mode`` (``logs``, ``span``)."""
    regions, stdout = _run_valgrind([f"child-{mode}", str(number)])
    names = [name for line in stdout.strip().splitlines() if line.startswith("[")
             for name in json.loads(line)]
    # dumps: the set-up and first warm-up, then per contender: its region, the next warm-up
    per = {name: regions[1 + 2 * i] / number for i, name in enumerate(names)}
    print(f"Instructions per operation (callgrind, {number} after {max(1, number // 10)} of "
          f"warm-up; Python {sys.version.split()[0]})")
    print(f"| contender | instructions | ratio to {baseline} |")
    print("|---|--:|--:|")
    for name, value in per.items():
        print(f"| {name} | {value:,.0f} | {value / per[baseline]:.3f}x |")


def main(argv: list[str]) -> None:
    mode = argv[0] if argv else "micro"
    if mode == "child-micro":
        child_micro(int(argv[1]))
    elif mode == "child-drf":
        child_drf(argv[1], int(argv[2]))
    elif mode == "micro":
        parent_micro(int(argv[1]) if len(argv) > 1 else 2000)
    elif mode == "drf":
        parent_drf(argv[1], int(argv[2]) if len(argv) > 2 else 20)
    elif mode == "child-request":
        child_request(argv[1], int(argv[2]))
    elif mode in ("child-logs", "child-span"):
        {"child-logs": child_logs, "child-span": child_span}[mode](int(argv[1]))
    elif mode == "logs":
        parent_each("logs", int(argv[1]) if len(argv) > 1 else 2000,
                    "contrib LoggingInstrumentor, in a span (ids)")
    elif mode == "span":
        parent_each("span", int(argv[1]) if len(argv) > 1 else 2000,
                    "SDK start_as_current_span(name)")
    elif mode == "request":
        parent_request(int(argv[1]) if len(argv) > 1 else 200)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
