"""Core hot paths of django-tracekit against their naive / OpenTelemetry-SDK peers.

    python benchmarks/bench_core.py        (from the repository root)

1. name derivation: tracekit's cached lookup (code object -> CodeLocation) vs
   ``sys._getframe()`` + ``co_qualname`` rebuilt each call vs ``inspect.stack()``;
2. ``with tracekit.span():`` vs the SDK's ``with tracer.start_as_current_span(name):`` on
   the same TracerProvider and span processor, sampled and sampled out (goal: not slower);
3. ``tracekit.record_error(exc)`` vs the SDK's ``span.record_exception(exc)`` for an
   exception raised 50 frames below the catching frame (goal: <= 0.2x).

Django is configured in-process; tracekit's bootstrap builds the real SDK TracerProvider
with the processor returned by :func:`dropping_processor` (a SimpleSpanProcessor over an
exporter that drops spans), so ending a span runs the full SDK export path minus I/O.
Contenders run in interleaved rounds (machine noise hits all alike); numbers are medians.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import django  # noqa: E402
from _summary import record  # noqa: E402
from _timing import interleaved_samples, print_table  # noqa: E402
from django.conf import settings  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import (  # noqa: E402
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased  # noqa: E402


class DroppingExporter(SpanExporter):
    """Accepts every span and keeps none."""

    exported = 0
    last: ReadableSpan | None = None

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        DroppingExporter.exported += len(spans)
        DroppingExporter.last = spans[-1]
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


PROCESSOR: SimpleSpanProcessor | None = None


def dropping_processor() -> SimpleSpanProcessor:
    """TRACEKIT['EXPORTER'] factory: one synchronous processor, shared by every contender."""
    global PROCESSOR
    if PROCESSOR is None:
        PROCESSOR = SimpleSpanProcessor(DroppingExporter())
    return PROCESSOR


settings.configure(
    INSTALLED_APPS=["django_tracekit"],
    # Unmigrated: the stats count in memory and wait quietly for their tables.
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    TRACEKIT={
        "PROJECT_NAME": "bench",
        "EXPORTER": f"{__name__}.dropping_processor",  # also when imported (instructions.py)
        # STATS as a user gets it (on): both contenders share the provider and its processors.
    },
)
django.setup()

import _core_targets as targets  # noqa: E402
from opentelemetry import trace  # noqa: E402

import django_tracekit as tracekit  # noqa: E402
from django_tracekit import bootstrap  # noqa: E402
from django_tracekit.core import naming  # noqa: E402
from django_tracekit.core import tracer as tracer_module  # noqa: E402
from django_tracekit.core.errors import _MARKER  # noqa: E402

STATE = bootstrap.state()
assert STATE is not None and STATE.provider is not None, f"tracing is off: {STATE}"
assert PROCESSOR in STATE.processors, STATE.processors
PROVIDER = STATE.provider
TRACER = tracer_module.get_tracer()  # the tracer tracekit.span() uses; the SDK side uses it too

# Many short rounds: contenders timed back to back within a round share the machine's load
# (other work runs on this 2-core machine), so per-round ratios are well paired.
ROUNDS = 40
RAISE_DEPTH = 50  # frames below the catching frame; the deepest one raises

goals: list[str] = []


def medians(samples: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(values) for name, values in samples.items()}


def paired(ratios: list[float]) -> tuple[float, str]:
    """Median of per-round ratios (both contenders timed back to back in each round, so a
    burst of load spoils one round, not the verdict) and a description of their spread."""
    median = statistics.median(ratios)
    return median, (f"median {median:.3f}x, range {min(ratios):.3f}x..{max(ratios):.3f}x "
                    f"over {len(ratios)} rounds")


def round_ratios(samples: dict[str, list[float]], numerator: str,
                 denominator: str) -> tuple[float, str]:
    return paired([n / d for n, d in zip(samples[numerator], samples[denominator],
                                         strict=True)])


# --- 1. name derivation ------------------------------------------------------------------

def bench_naming() -> None:
    contenders: dict[str, Callable[[], object]] = {
        "tracekit cached (caller_location)": targets.name_cached,
        "sys._getframe + co_qualname, uncached": targets.name_getframe_uncached,
        "inspect.stack(0)": targets.name_inspect_stack0,
        "inspect.stack()": targets.name_inspect_stack,
        "(empty call: harness overhead)": targets.empty,
    }
    for func in contenders.values():  # every contender derives the convention name
        assert func is targets.empty or func() == naming.name_for(func), func

    def run() -> tuple[dict[str, list[float]], int]:
        return (interleaved_samples(contenders, seconds_per_round=0.012, rounds=ROUNDS),
                targets.stack_depth())

    # Measured ~40 frames deep, about where a Django view runs (inspect.stack() walks them all).
    samples, depth = targets.at_depth(40 - targets.stack_depth(), run)
    results = medians(samples)
    print_table("Name derivation (per call)", results,
                baseline="tracekit cached (caller_location)", unit="ns",
                note=f"Each derives its own name, e.g. `{targets.name_cached()}`; stack depth "
                     f"{depth} frames "
                     "(the inspect.stack() rows grow with depth; the others do not).")
    ratio, spread = round_ratios(samples, "sys._getframe + co_qualname, uncached",
                                 "tracekit cached (caller_location)")
    goals.append(f"name derivation: the cached lookup is {ratio:.1f}x faster than the fastest "
                 f"alternative, uncached sys._getframe ({spread}) -> "
                 + ("MET" if ratio > 1.0 else "NOT MET") + " (goal: fastest)")


# --- 2. span() vs start_as_current_span ----------------------------------------------------

def tk_span() -> None:
    with tracekit.span():
        pass


def make_sdk_span(tracer: trace.Tracer, name: str) -> Callable[[], None]:
    def sdk_span() -> None:
        with tracer.start_as_current_span(name):
            pass
    return sdk_span


def make_sdk_span_attrs(tracer: trace.Tracer, name: str, attributes: dict) -> Callable[[], None]:
    def sdk_span_attrs() -> None:
        with tracer.start_as_current_span(name, attributes=attributes):
            pass
    return sdk_span_attrs


def bench_span(title: str, tracer: trace.Tracer, expect_recording: bool) -> None:
    location = naming.location_for(tk_span)
    name = location.name
    contenders: dict[str, Callable[[], object]] = {
        "SDK start_as_current_span(name)": make_sdk_span(tracer, name),
        "tracekit.span()": tk_span,
        "SDK start_as_current_span(name, attributes=code.*)":
            make_sdk_span_attrs(tracer, name, dict(location.attributes)),
    }
    previous = tracer_module.get_tracer()
    tracer_module.set_tracer(tracer)
    try:
        with tracekit.span() as probe:
            assert probe.is_recording() is expect_recording
        if expect_recording:  # what is compared: a span that carries the code.* attributes
            tk_span()
            assert DroppingExporter.last is not None
            assert DroppingExporter.last.name == name
            assert dict(DroppingExporter.last.attributes) == location.attributes
        assert trace.get_current_span() is trace.INVALID_SPAN  # root spans: the sampler decides
        before = DroppingExporter.exported
        samples = interleaved_samples(contenders, seconds_per_round=0.02, rounds=ROUNDS)
        exported = DroppingExporter.exported - before
        assert (exported > 0) is expect_recording, exported
    finally:
        tracer_module.set_tracer(previous)
    results = medians(samples)
    baseline = "SDK start_as_current_span(name)"
    ratio, spread = round_ratios(samples, "tracekit.span()", baseline)
    print_table(title, results, baseline=baseline,
                note="Same tracer, TracerProvider and processor (SimpleSpanProcessor over a "
                     "dropping exporter); tracekit also sets 3 `code.*` attributes. "
                     f"Per-round tracekit/SDK ratio: {spread}.")
    if expect_recording:
        record(**{"core.span_ratio": ratio})
    goals.append(f"span() {title.split('(')[-1].rstrip(')')}: {ratio:.3f}x the SDK's "
                 "start_as_current_span (median per-round ratio) -> "
                 + ("MET" if ratio <= 1.0 else "NOT MET") + " (goal: not slower, <= 1.00x)")


# --- 3. record_error vs record_exception ---------------------------------------------------

class BenchError(Exception):
    pass


def _down_a(n: int) -> None:
    # Two alternating functions, so no two consecutive frames share a line: the SDK's
    # traceback formatting would otherwise collapse them ("Previous line repeated ...").
    if n <= 1:
        raise BenchError(f"failed {RAISE_DEPTH} frames down")
    _down_b(n - 1)


def _down_b(n: int) -> None:
    if n <= 1:
        raise BenchError(f"failed {RAISE_DEPTH} frames down")
    _down_a(n - 1)


def raise_only() -> None:
    try:  # noqa: SIM105  (the same try/except shape as the recording contenders)
        _down_a(RAISE_DEPTH)
    except BenchError:
        pass


def raise_tk() -> None:
    try:
        _down_a(RAISE_DEPTH)
    except BenchError as exc:
        tracekit.record_error(exc)


def make_raise_sdk(span: trace.Span) -> Callable[[], None]:
    def raise_sdk() -> None:
        try:
            _down_a(RAISE_DEPTH)
        except BenchError as exc:
            span.record_exception(exc)
    return raise_sdk


def caught() -> BenchError:
    try:
        _down_a(RAISE_DEPTH)
    except BenchError as exc:
        return exc
    raise AssertionError("unreachable")


def bench_record_error() -> None:
    with TRACER.start_as_current_span("bench/record_error") as span:
        assert span.is_recording()
        # What each side writes, for the note (stack lines: frames + headers).
        raise_tk()
        raise_make = make_raise_sdk(span)
        raise_make()
        tk_stack = span.events[-2].attributes["exception.stacktrace"]
        sdk_stack = span.events[-1].attributes["exception.stacktrace"]
        assert "_down_b" in tk_stack and "Previous line repeated" not in sdk_stack

        # (a) A fresh exception per call for every contender; the raise itself is timed
        #     as its own contender and subtracted.
        fresh = interleaved_samples({
            "raise + catch only": raise_only,
            "raise + SDK span.record_exception(exc)": raise_make,
            "raise + tracekit.record_error(exc)": raise_tk,
        }, seconds_per_round=0.025, rounds=ROUNDS)

        # (b) One exception, recorded again and again; tracekit's "already recorded" marker
        #     is deleted after each call (the delattr is included in tracekit's time).
        exc = caught()

        def again_tk() -> None:
            tracekit.record_error(exc)
            delattr(exc, _MARKER)

        def again_sdk() -> None:
            span.record_exception(exc)

        reused = interleaved_samples({
            "SDK span.record_exception(exc)": again_sdk,
            "tracekit.record_error(exc) + del marker": again_tk,
        }, seconds_per_round=0.025, rounds=ROUNDS)

    results = medians(fresh)
    raise_cost = results["raise + catch only"]
    net_sdk = results["raise + SDK span.record_exception(exc)"] - raise_cost
    net_tk = results["raise + tracekit.record_error(exc)"] - raise_cost
    ratio, net_spread = paired([
        (tk - r) / (sdk - r) for r, sdk, tk in zip(
            fresh["raise + catch only"], fresh["raise + SDK span.record_exception(exc)"],
            fresh["raise + tracekit.record_error(exc)"], strict=True)])
    print_table(
        f"record_error vs record_exception, fresh exception raised {RAISE_DEPTH} frames deep "
        "(gross)", results, baseline="raise + SDK span.record_exception(exc)",
        note=f"Each call raises anew {RAISE_DEPTH} frames below the catching frame and records on "
             "one recording span. tracekit's stack: "
             f"{tk_stack.count(chr(10)) + 1} lines / {len(tk_stack)} chars (callers above the "
             f"catch included); SDK's: {sdk_stack.count(chr(10)) + 1} lines / {len(sdk_stack)} "
             "chars (raise->catch only, with source lines and carets).")
    print_table("record cost alone (gross minus raise + catch)",
                {"SDK span.record_exception(exc)": net_sdk, "tracekit.record_error(exc)": net_tk},
                baseline="SDK span.record_exception(exc)",
                note=f"Raise + catch alone: {raise_cost * 1e6:.3f} µs. Per-round net ratio: "
                     f"{net_spread}.")
    ratio_reused, reused_spread = round_ratios(
        reused, "tracekit.record_error(exc) + del marker", "SDK span.record_exception(exc)")
    print_table("record cost, one exception recorded repeatedly (marker deleted each call)",
                medians(reused), baseline="SDK span.record_exception(exc)",
                note="Cross-check of the net figure without subtraction. Per-round ratio: "
                     f"{reused_spread}.")
    goals.append(f"record_error, {RAISE_DEPTH}-frame stack: {ratio:.3f}x the SDK's "
                 f"record_exception (fresh exceptions, net of raise; {ratio_reused:.3f}x "
                 "re-recording one exception; median per-round ratios) -> "
                 + ("MET" if max(ratio, ratio_reused) <= 0.2 else "NOT MET")
                 + " (goal: <= 0.20x)")


def main() -> int:
    started = time.perf_counter()
    print(f"Python {sys.version.split()[0]}, Django {django.get_version()}, "
          f"opentelemetry-sdk {_sdk_version()}; load average {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} CPUs.\nContenders run in {ROUNDS} interleaved rounds; a row's "
          "cost is the median over rounds; verdicts use the median of per-round ratios "
          "(each round times both sides back to back, so load bursts cancel).")
    bench_naming()
    bench_span("span() vs start_as_current_span (sampled)", TRACER, expect_recording=True)
    sampled_out = TracerProvider(resource=PROVIDER.resource,
                                 sampler=ParentBased(TraceIdRatioBased(0.0)))
    sampled_out.add_span_processor(dropping_processor())
    tracer_out = sampled_out.get_tracer(tracer_module.INSTRUMENTATION_NAME, tracekit.__version__)
    bench_span("span() vs start_as_current_span (sampled out, ratio 0)", tracer_out,
               expect_recording=False)
    bench_record_error()
    print("\n## Goals")
    for line in goals:
        print(f"- {line}")
    print(f"\n(total {time.perf_counter() - started:.1f} s)")
    return 0


def _sdk_version() -> str:
    from importlib.metadata import version

    return version("opentelemetry-sdk")


if __name__ == "__main__":
    raise SystemExit(main())
