"""Auto-tracing cost: per call and per request, side by side with the SDK and Logfire.

    .venv/bin/python benchmarks/bench_autotrace.py [--quick]

Per call (one process, interleaved rounds, medians: the machine has 2 cores and other
test suites run concurrently, so contenders alternate round by round and noise hits them
alike):
- plain call; SDK ``@tracer.start_as_current_span`` decorator (inside a recording trace);
- tracekit below MIN_DURATION_MS: outside any trace (counting only) and inside a recording
  trace (counting + pending frame); tracekit kept (MIN_DURATION_MS = 0: every call a span);
- Logfire ``install_auto_tracing`` probe (below ``min_duration``) and fully traced
  (``min_duration=0``), run in a subprocess of .venv-logfire (`make bench` creates it; its
  OTel pins differ from
  ours), with its own plain-call baseline; its "added" figures are comparable, the absolute
  ones are from another process.

Per request: a Django view calling 200 user functions (fast ones), handled by the real
WSGI handler: bare Django, + opentelemetry-instrumentation-django (contrib), + tracekit
auto-tracing of the view's module (in a recording trace, all calls below the threshold).
Spans go to a BatchSpanProcessor with a null exporter (export is off the request path).
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._summary import record  # noqa: E402
from benchmarks._timing import interleaved_samples, print_table  # noqa: E402

LOGFIRE_PYTHON = Path(os.environ.get("LOGFIRE_PYTHON", ".venv-logfire/bin/python"))

# The per-call subject: ten calls per timed op, so loop overhead is amortized.
SUBJECT = """
def f(x):
    return x
"""

# The descent for the depth figures: N auto-traced frames still running (pending) above the
# measured calls.
DEPTH_MODULE = """
def down(n, at_bottom):
    if n:
        return down(n - 1, at_bottom)
    return at_bottom()
"""
DEPTHS = (10, 50, 200)

VIEW_MODULE = """
from django.http import HttpResponse

def leaf(x):
    return x + 1

def branch(x):
    total = 0
    for i in range(9):
        total += leaf(i)
    return total + x

def work(n):
    total = 0
    for i in range(n):
        total += branch(i)
    return total

def view(request):
    # 1 + 20 * (1 branch + 9 leaves) = 201 user function calls
    return HttpResponse(str(work(20)))
"""


def _module(name: str, source: str, traced: bool) -> types.ModuleType:
    from django_tracekit.sources.autotrace import rewrite

    module = types.ModuleType(name)
    if traced:
        code, result = rewrite.compile_module(source, name, f"/srv/bench/{name}.py")
        module.__dict__.update(rewrite.module_globals(result))
        exec(code, module.__dict__)
    else:
        exec(compile(source, f"/srv/bench/{name}.py", "exec"), module.__dict__)
    sys.modules[name] = module
    return module


def _setup_django(tmp: Path, flush_interval_s: float | None = None) -> None:
    """The default configuration a user gets: tracekit first in INSTALLED_APPS, stats on
    (on a migrated SQLite database), tracekit's own provider, no exporter configured.
    ``flush_interval_s``: ``instructions.py`` moves the flusher threads' wake-ups (wall
    time, ~50x longer under valgrind) out of its counted regions."""
    import django
    from django.conf import settings
    from django.core.management import call_command

    settings.configure(
        DEBUG=False, SECRET_KEY="bench", ALLOWED_HOSTS=["*"], ROOT_URLCONF="bench_urls",
        INSTALLED_APPS=["django_tracekit", "django.contrib.contenttypes",
                        "django.contrib.auth"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                               "NAME": str(tmp / "bench.sqlite3")}},
        MIDDLEWARE=[], LOGGING_CONFIG=None, USE_TZ=True,
        TRACEKIT={"PROJECT_NAME": "bench",
                  **({"STATS": {"FLUSH_INTERVAL_S": flush_interval_s}}
                     if flush_interval_s is not None else {})},
        BASE_DIR="/srv/bench")
    django.setup()
    call_command("migrate", verbosity=0)


def _tuned_tracer() -> Any:
    """A tuned configuration beside it: stats off, ParentBased sampler, a batch processor
    with a null exporter (not the global provider: selected per contender)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    class NullExporter(SpanExporter):
        def export(self, spans: object) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(1.0)))
    provider.add_span_processor(BatchSpanProcessor(NullExporter(), max_queue_size=1 << 20))
    return provider.get_tracer("django_tracekit")


def _ten(f: Callable[[int], object]) -> Callable[[], None]:
    def loop() -> None:
        f(1); f(1); f(1); f(1); f(1); f(1); f(1); f(1); f(1); f(1)  # noqa: E702
    return loop


def _in_trace(loop: Callable[[], None], tracer: Any) -> Callable[[], None]:
    """Run ``loop`` inside a recording trace of ``tracer`` (tracekit's tracer meanwhile)."""
    from opentelemetry import context, trace

    from django_tracekit.core import tracer as tracer_module

    root = tracer.start_span("root")
    ctx = trace.set_span_in_context(root)

    def run() -> None:
        previous = tracer_module.get_tracer()
        tracer_module.set_tracer(tracer)
        token = context.attach(ctx)
        try:
            loop()
        finally:
            context.detach(token)
            tracer_module.set_tracer(previous)
    return run


def _kept(loop: Callable[[], None]) -> Callable[[], None]:
    from django_tracekit.sources.autotrace import runtime

    def run() -> None:
        old = runtime.threshold()
        runtime.set_threshold(0.0)  # every call is kept
        try:
            loop()
        finally:
            runtime.set_threshold(old)
    return run


LOGFIRE_SCRIPT = r"""
import json, statistics, sys, time, gc
sys.path.insert(0, sys.argv[1])
import logfire
logfire.configure(send_to_logfire=False, console=False, metrics=False)
mode, rounds = sys.argv[2], int(sys.argv[3])
logfire.install_auto_tracing(modules=["lf_subject"], min_duration=(0 if mode == "traced" else 1.0),
                             check_imported_modules="ignore")
import lf_subject, plain_subject
def ten(f):
    def loop():
        f(1); f(1); f(1); f(1); f(1); f(1); f(1); f(1); f(1); f(1)
    return loop
def per_call(func, number):
    func()
    out = []
    for _ in range(3):
        gc.disable(); s = time.perf_counter()
        for _ in range(number): func()
        out.append((time.perf_counter() - s) / number); gc.enable()
    return statistics.median(out)
res = {"plain": [], "logfire": []}
number = 2000 if mode == "traced" else 20000
with logfire.span("root"):
    for _ in range(rounds):
        res["plain"].append(per_call(ten(plain_subject.f), number) / 10)
        res["logfire"].append(per_call(ten(lf_subject.f), number) / 10)
print(json.dumps({k: statistics.median(v) for k, v in res.items()}))
"""


def _logfire(mode: str, rounds: int) -> dict[str, float] | None:
    if not LOGFIRE_PYTHON.exists():
        print(f"(logfire contender skipped: {LOGFIRE_PYTHON} missing; "
              "make bench creates it)")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "lf_subject.py").write_text(SUBJECT)
        Path(tmp, "plain_subject.py").write_text(SUBJECT)
        done = subprocess.run([str(LOGFIRE_PYTHON), "-c", LOGFIRE_SCRIPT, tmp, mode, str(rounds)],
                              capture_output=True, text=True, timeout=600)
    if done.returncode:
        print(f"(logfire {mode} failed: {done.stderr[-2000:]})")
        return None
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


TUNED = " [tuned: stats off]"


def per_call(rounds: int, seconds: float) -> dict[str, float]:
    plain = _module("bench_plain", SUBJECT, traced=False)
    traced = _module("bench_traced", SUBJECT, traced=True)
    from django_tracekit.core.tracer import get_tracer

    default = get_tracer()
    contenders = {
        "plain call": _ten(plain.f),
        "plain call, in trace": _in_trace(_ten(plain.f), default),
        "tracekit below threshold, no trace": _ten(traced.f),
    }
    for label, tracer in (("", default), (TUNED, _tuned_tracer())):
        sdk = tracer.start_as_current_span("f")(plain.f)
        contenders.update({
            f"SDK start_as_current_span decorator{label}": _in_trace(_ten(sdk), tracer),
            f"tracekit below threshold, in trace{label}": _in_trace(_ten(traced.f), tracer),
            f"tracekit kept (span per call){label}": _in_trace(_kept(_ten(traced.f)), tracer),
        })
    samples = interleaved_samples(contenders, seconds, rounds=rounds)
    results = {name: statistics.median(v) / 10 for name, v in samples.items()}
    print_table("Per call (µs/call; ratio vs plain call)", results, "plain call",
                note=f"{rounds} interleaved rounds, medians; Python {sys.version.split()[0]}.")
    # In-trace contenders attach/detach the root context once per 10 calls: their baseline
    # is the plain call under the same attach/detach.
    plain_s, plain_in = results["plain call"], results["plain call, in trace"]
    added = {name: max(v - (plain_in if ("trace" in name and "no trace" not in name)
                            or "SDK" in name or "kept" in name else plain_s), 1e-12)
             for name, v in results.items() if not name.startswith("plain call")}
    for mode, label in (("probe", "Logfire auto-tracing below min_duration (probe)"),
                        ("traced", "Logfire auto-tracing, traced (min_duration=0)")):
        lf = _logfire(mode, rounds)
        if lf is not None:
            added[label] = max(lf["logfire"] - lf["plain"], 1e-12)
    print_table("Added cost per call (µs; ratio vs SDK decorator)", added,
                "SDK start_as_current_span decorator",
                note="added = contender - plain call of the same process (Logfire: its own "
                     "process and plain baseline). Default configuration (stats on, "
                     f"tracekit's provider) unless marked{TUNED}.")
    record(**{"autotrace.plain": plain_s,
              "autotrace.no_trace": added["tracekit below threshold, no trace"],
              "autotrace.kept": added["tracekit kept (span per call)"],
              "autotrace.sdk_decorator": added["SDK start_as_current_span decorator"]})
    probe = added.get("Logfire auto-tracing below min_duration (probe)")
    if probe is not None:
        record(**{"autotrace.logfire_probe": probe})
    return added


def per_depth(rounds: int, seconds: float) -> dict[str, float]:
    """Below-threshold calls made under N pending auto-traced frames of a recorded trace:
    the in-trace cost must not grow with the stack's depth. Timed at the bottom of the
    descent (the descent itself is not timed), against plain calls at the same depth."""
    from benchmarks._timing import calibrate, per_call_seconds
    from django_tracekit.core.tracer import get_tracer

    plain = sys.modules["bench_plain"]
    traced = sys.modules["bench_traced"]
    deep = _module("bench_depth", DEPTH_MODULE, traced=True)
    tracer = get_tracer()
    loops = {"plain": _ten(plain.f), "tracekit": _ten(traced.f)}
    numbers = {name: calibrate(loop, seconds / 3) for name, loop in loops.items()}
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        for depth in DEPTHS:
            for name, loop in loops.items():
                got: list[float] = []

                def at_bottom(loop: Callable[[], None] = loop, number: int = numbers[name],
                              got: list[float] = got) -> None:
                    got.append(per_call_seconds(loop, number, repeat=3))

                _in_trace(functools.partial(deep.down, depth, at_bottom), tracer)()
                samples.setdefault(f"{name}@{depth}", []).extend(got)
    added = {f"tracekit below threshold, in trace, depth {depth}":
             max(statistics.median(samples[f"tracekit@{depth}"])
                 - statistics.median(samples[f"plain@{depth}"]), 1e-12) / 10
             for depth in DEPTHS}
    print_table("Added cost per call at depth (µs; ratio vs depth 10)", added,
                f"tracekit below threshold, in trace, depth {DEPTHS[0]}",
                note=f"{rounds} interleaved rounds, medians; N pending auto-traced frames "
                     "above the measured calls.")
    record(**{f"autotrace.depth{depth}": added[f"tracekit below threshold, in trace, depth {depth}"]
              for depth in DEPTHS})
    return added


def per_request(rounds: int, seconds: float) -> dict[str, float]:
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import RequestFactory
    from django.urls import path

    plain = _module("bench_view_plain", VIEW_MODULE, traced=False)
    traced = _module("bench_view_traced", VIEW_MODULE, traced=True)
    urls = types.ModuleType("bench_urls")
    urls.urlpatterns = [path("plain", plain.view), path("traced", traced.view)]  # type: ignore[attr-defined]
    sys.modules["bench_urls"] = urls
    environ = {k: v for k, v in RequestFactory().get("/").environ.items()}

    def call(handler: WSGIHandler, url: str) -> Callable[[], None]:
        env = dict(environ, PATH_INFO=url)

        def run() -> None:
            body = handler(dict(env), lambda status, headers, exc_info=None: None)
            b"".join(body)
            body.close()
        return run

    bare = WSGIHandler()
    try:
        from opentelemetry.instrumentation.django import DjangoInstrumentor
    except ImportError:
        print("\n(per-request contenders skipped: opentelemetry-instrumentation-django is "
              "missing; `make bench` installs the [bench] extra)")
        return {}

    DjangoInstrumentor().instrument()
    contrib = WSGIHandler()  # now with the contrib middleware
    contenders = {
        "bare Django": call(bare, "/plain"),
        "contrib (opentelemetry-instrumentation-django)": call(contrib, "/plain"),
        "contrib + tracekit auto-tracing (201 calls)": call(contrib, "/traced"),
    }
    samples = interleaved_samples(contenders, seconds, rounds=rounds)
    results = {name: statistics.median(v) for name, v in samples.items()}
    print_table("Per request (µs/request; ratio vs bare Django)", results, "bare Django",
                note=f"{rounds} interleaved rounds, medians.")
    bare_s = results["bare Django"]
    contrib_s = results["contrib (opentelemetry-instrumentation-django)"]
    overhead = {
        "contrib alone (request overhead)": contrib_s - bare_s,
        "tracekit auto-tracing (201 calls)": results[
            "contrib + tracekit auto-tracing (201 calls)"] - contrib_s,
    }
    print_table("Request overhead (µs/request; ratio vs contrib alone)", overhead,
                "contrib alone (request overhead)")
    record(**{"autotrace.contrib_request": overhead["contrib alone (request overhead)"],
              "autotrace.view_201": overhead["tracekit auto-tracing (201 calls)"]})
    return overhead


def main() -> None:
    quick = "--quick" in sys.argv
    rounds, seconds = (3, 0.3) if quick else (7, 1.0)
    os.environ.pop("OTEL_SDK_DISABLED", None)
    for key in [k for k in os.environ if k.startswith("OTEL_")]:
        del os.environ[key]  # the default configuration: nothing from the environment
    tmp = Path(tempfile.mkdtemp(prefix="tk-bench-"))
    # Registered first, so it runs last: after tracekit's exit flush of the stats.
    atexit.register(shutil.rmtree, tmp, True)
    _setup_django(tmp)
    from django_tracekit.sources.autotrace import runtime

    runtime.set_threshold(0.001)  # MIN_DURATION_MS = 1.0 (the default)
    runtime.hook_context()
    started = time.perf_counter()
    added = per_call(rounds, seconds)
    per_depth(rounds, seconds)
    per_request(rounds, seconds)
    print("\n## Goals (default configuration)")
    for label in ("", TUNED):
        sdk = added[f"SDK start_as_current_span decorator{label}"]
        below = max(added["tracekit below threshold, no trace"],
                    added[f"tracekit below threshold, in trace{label}"])
        print(f"- below threshold{label}: {below * 1e6:.3f} µs added per call (goal <= "
              f"0.300): {'met' if below <= 0.3e-6 else 'NOT met'}")
        kept = added[f"tracekit kept (span per call){label}"]
        print(f"- kept span{label}: {kept / sdk:.3f}x SDK start_as_current_span (goal <= "
              f"0.25): {'met' if kept <= 0.25 * sdk else 'NOT met'}")
    print(f"(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
