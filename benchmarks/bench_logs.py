"""Cost of one log record with tracekit's logs integration, against no tracing and against
contrib's LoggingInstrumentor.

    python benchmarks/bench_logs.py        (from the repository root)

Each contender is ``logger.info("order %s placed", n)`` on a logger with one handler that
formats the record (a real ``logging.Formatter``) and writes it to a stream that discards it:

- logging alone: the stock LogRecord factory, no span;
- tracekit, default configuration (LOGS.LEVEL INFO, stats on, tracekit's own provider),
  inside a recording span: ids on the record and a ``log`` event on the span;
- tracekit, the same record once the span's cap is reached (counted, no event);
- tracekit, outside any span (ids "0"), and a DEBUG record below LOGS.LEVEL in a span (ids);
- contrib's ``LoggingInstrumentor(inject_trace_context=True)`` on a plain SDK TracerProvider,
  inside a span: ids only (contrib makes no span events).

The factory of each contender is set around its timed rounds (one process, one run);
contenders run in interleaved rounds and the table shows medians and ratios.
"""

from __future__ import annotations

import contextlib
import logging
import os
import statistics
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import django  # noqa: E402
from _summary import record  # noqa: E402
from _timing import per_call_seconds, print_table  # noqa: E402
from django.conf import settings  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan  # noqa: E402
from opentelemetry.sdk.trace.export import (  # noqa: E402
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)


class DroppingExporter(SpanExporter):
    """Accepts every span and keeps none: the SDK's export path minus I/O."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def dropping_processor() -> SimpleSpanProcessor:
    return SimpleSpanProcessor(DroppingExporter())


# instructions.py's ``logs`` sets it to an hour: under valgrind the flusher thread's
# wall-clock period would charge it, many times its share, to whichever region it falls in.
FLUSH_INTERVAL_S = os.environ.get("TRACEKIT_BENCH_FLUSH_INTERVAL_S")
settings.configure(
    INSTALLED_APPS=["django_tracekit"],
    # Unmigrated: the stats count in memory and wait quietly for their tables.
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    # This module's factory, run as a script or imported (instructions.py's ``logs``).
    TRACEKIT={"PROJECT_NAME": "bench", "EXPORTER": f"{__name__}.dropping_processor",
              **({"STATS": {"FLUSH_INTERVAL_S": int(FLUSH_INTERVAL_S)}}
                 if FLUSH_INTERVAL_S else {})},
    LOGGING_CONFIG=None,
)
django.setup()

from opentelemetry import trace  # noqa: E402
from opentelemetry.instrumentation.logging import LoggingInstrumentor  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402

from django_tracekit import bootstrap  # noqa: E402
from django_tracekit.core import tracer as tracer_module  # noqa: E402
from django_tracekit.sources.logs import events, factory  # noqa: E402

STATE = bootstrap.state()
assert STATE is not None and STATE.provider is not None, f"tracing is off: {STATE}"
hook = factory.installed()
assert hook is not None and hook.level == logging.INFO, hook
TRACEKIT_FACTORY = logging.getLogRecordFactory()
assert getattr(TRACEKIT_FACTORY, "tracekit_previous", None) is logging.LogRecord

# contrib's factory over the stock one, on its own plain SDK provider.
PLAIN_PROVIDER = TracerProvider()
logging.setLogRecordFactory(logging.LogRecord)
LoggingInstrumentor().instrument(tracer_provider=PLAIN_PROVIDER, inject_trace_context=True,
                                 enable_log_auto_instrumentation=False)
CONTRIB_FACTORY = logging.getLogRecordFactory()
logging.setLogRecordFactory(TRACEKIT_FACTORY)


class Discard:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


logger = logging.getLogger("bench.orders")
logger.propagate = False
logger.setLevel(logging.DEBUG)
handler = logging.StreamHandler(Discard())
handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
logger.addHandler(handler)


def info() -> None:
    logger.info("order %s placed", 42)


def debug() -> None:
    logger.debug("order %s placed", 42)


@contextlib.contextmanager
def using(record_factory: Callable[..., logging.LogRecord],
          span_of: trace.Tracer | None) -> Iterator[trace.Span | None]:
    previous = logging.getLogRecordFactory()
    logging.setLogRecordFactory(record_factory)
    try:
        if span_of is None:
            yield None
        else:
            with span_of.start_as_current_span("bench") as span:
                yield span
    finally:
        logging.setLogRecordFactory(previous)


TK = tracer_module.get_tracer()
PLAIN = PLAIN_PROVIDER.get_tracer("bench")


@contextlib.contextmanager
def uncapped() -> Iterator[None]:
    # Every record of the timed rounds takes the event path (a span's first 100 do): the
    # cap is lifted while timing (the SDK span keeps its last 128 events, as always).
    saved = events.MAX_EVENTS_PER_SPAN
    events.MAX_EVENTS_PER_SPAN = 1 << 62
    try:
        yield
    finally:
        events.MAX_EVENTS_PER_SPAN = saved


@contextlib.contextmanager
def capped_out() -> Iterator[None]:
    saved = events.MAX_EVENTS_PER_SPAN
    events.MAX_EVENTS_PER_SPAN = 0  # every record is over the cap: counted, no event
    try:
        yield
    finally:
        events.MAX_EVENTS_PER_SPAN = saved


BASELINE = "logging alone (no tracing)"
TRACEKIT = "tracekit default, in a span (ids + event)"
CONTRIB = "contrib LoggingInstrumentor, in a span (ids)"
CONTENDERS: dict[str, tuple[Callable[[], Any], Callable[[], Any], Callable[[], None]]] = {
    BASELINE: (lambda: using(logging.LogRecord, None), contextlib.nullcontext, info),
    TRACEKIT: (lambda: using(TRACEKIT_FACTORY, TK), uncapped, info),
    "tracekit, over the span's cap (ids + count)":
        (lambda: using(TRACEKIT_FACTORY, TK), capped_out, info),
    "tracekit, DEBUG below LOGS.LEVEL in a span (ids)":
        (lambda: using(TRACEKIT_FACTORY, TK), contextlib.nullcontext, debug),
    "tracekit, outside any span (ids '0')":
        (lambda: using(TRACEKIT_FACTORY, None), contextlib.nullcontext, info),
    CONTRIB: (lambda: using(CONTRIB_FACTORY, PLAIN), contextlib.nullcontext, info),
}


def check() -> None:
    """What is timed is what is claimed: an event where there should be one, ids on all."""
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    keep = Keep()
    logger.addHandler(keep)
    try:
        for name, (state, cap, func) in CONTENDERS.items():
            with state() as span, cap():
                func()
                attributes = getattr(span, "events", ())
                has_event = any(e.name == events.EVENT_NAME for e in attributes)
            assert has_event is (name == TRACEKIT), name
            assert hasattr(seen[-1], "otelTraceID") is (name != BASELINE), name
            if span is not None and name != BASELINE:
                expected = format(span.get_span_context().trace_id, "032x")
                assert seen[-1].otelTraceID == expected, name  # type: ignore[attr-defined]
    finally:
        logger.removeHandler(keep)


def main() -> None:
    check()
    number, rounds = 1000, 40
    samples: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for _ in range(rounds):
        for name, (state, cap, func) in CONTENDERS.items():
            with state(), cap():
                samples[name].append(per_call_seconds(func, number, repeat=3))
    results = {name: statistics.median(values) for name, values in samples.items()}
    print_table("One log record (logger.info, one formatting handler)", results,
                baseline=BASELINE, unit="µs",
                note=f"Medians of {rounds} interleaved rounds of {number} records each.")

    def paired(a: str, b: str) -> str:
        ratios = [x / y for x, y in zip(samples[a], samples[b], strict=True)]
        return (f"{statistics.median(ratios):.2f}x (range {min(ratios):.2f}x.."
                f"{max(ratios):.2f}x)")

    record(**{"logs.ratio": statistics.median(
        [x / y for x, y in zip(samples[TRACEKIT], samples[CONTRIB], strict=True)])})
    print(f"\ntracekit (record -> event) vs logging alone: {paired(TRACEKIT, BASELINE)}")
    print(f"tracekit (record -> event) vs contrib (ids only): {paired(TRACEKIT, CONTRIB)}")
    print(f"contrib (ids only) vs logging alone: {paired(CONTRIB, BASELINE)}")
    added = results[TRACEKIT] - results[BASELINE]
    print(f"tracekit adds {added * 1e6:.2f} µs per record that becomes an event; "
          f"contrib adds {(results[CONTRIB] - results[BASELINE]) * 1e6:.2f} µs (ids only)")


if __name__ == "__main__":
    main()
