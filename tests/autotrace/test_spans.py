"""Kept auto-traced calls become spans through the SDK shortcut exactly where the SDK would
decide the same (the default configuration included), and the private OpenTelemetry
attributes the shortcut and the context hook rely on are guarded."""

from __future__ import annotations

import logging
import textwrap
import types
from collections.abc import Iterator

import pytest
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    StaticSampler,
)
from opentelemetry.trace import SpanContext, TraceFlags

from django_tracekit.core import spans
from django_tracekit.core import tracer as tracer_module
from django_tracekit.core.sampling import RecordEverySampledOut, RecordSampledOut
from django_tracekit.sources.autotrace import context, counters, rewrite, runtime

_seq = iter(range(1_000_000))


class Collect(SpanProcessor):
    """Every ended span, sampled or not (what the stats processor sees)."""

    def __init__(self) -> None:
        self.ended: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.append(span)


@pytest.fixture
def use_sampler() -> Iterator[object]:
    old = tracer_module.get_tracer()
    threshold = runtime.threshold()
    runtime.set_threshold(0.005)
    runtime.hook_context()

    def use(sampler: Sampler) -> Collect:
        provider = TracerProvider(sampler=sampler)
        collect = Collect()
        provider.add_span_processor(collect)
        tracer_module.set_tracer(provider.get_tracer("django_tracekit"))
        return collect

    try:
        yield use
    finally:
        tracer_module.set_tracer(old)
        runtime.unhook_context()
        runtime.set_threshold(threshold)
        counters.drain()


def load(source: str) -> types.ModuleType:
    name = f"shop.sp{next(_seq)}"
    module = types.ModuleType(name)
    code, result = rewrite.compile_module(textwrap.dedent(source), name, f"/srv/{name}.py")
    module.__dict__.update(rewrite.module_globals(result))
    exec(code, module.__dict__)
    return module


def n(module: types.ModuleType, qualname: str) -> str:
    return "tests/" + module.__name__.replace(".", "/") + "/" + qualname


SOURCE = """
import time
from opentelemetry import trace

def current():
    return trace.get_current_span()

def slow():
    time.sleep(0.012)
"""

# The default: stats and the trace store each wrap the sampler (rate 1.0, and rate 0).
DEFAULT = RecordEverySampledOut(RecordSampledOut(ParentBased(ALWAYS_ON)))
DEFAULT_SAMPLED_OUT = RecordEverySampledOut(RecordSampledOut(ParentBased(ALWAYS_OFF)))
STATS_ONLY = RecordSampledOut(ParentBased(ALWAYS_ON))


@pytest.mark.parametrize("sampler", [DEFAULT, DEFAULT_SAMPLED_OUT, STATS_ONLY,
                                     ParentBased(ALWAYS_ON)],
                         ids=["default", "default-sampled-out", "stats-only", "parent-based"])
def test_shortcut_in_the_default_configuration(use_sampler, sampler: Sampler) -> None:  # type: ignore[no-untyped-def]
    collect = use_sampler(sampler)
    m = load(SOURCE)
    with tracer_module.get_tracer().start_as_current_span("request") as root:
        recording_root_sampled = root.get_span_context().trace_flags.sampled
        inner = m.current()  # materialized: another instrumentation reads the current span
        m.slow()  # kept at exit
    assert isinstance(inner, spans.AutoSpan)
    names = {s.name: s for s in collect.ended}
    assert set(names) == {"request", n(m, "current"), n(m, "slow")}
    for span in names.values():
        assert span.context.trace_flags.sampled == recording_root_sampled
        assert span.context.trace_id == root.get_span_context().trace_id


def test_shortcut_spans_read_the_same_through_slots_and_the_sdks_properties(
        use_sampler) -> None:  # type: ignore[no-untyped-def]
    """A FinishedSpan's slots shadow ReadableSpan's properties: every one must give what the
    property gives from the values ReadableSpan.__init__ stored (a kept call and a
    materialized one, which ends as an AutoSpan)."""
    collect = use_sampler(DEFAULT)
    m = load(SOURCE)
    with tracer_module.get_tracer().start_as_current_span("request"):
        m.current()
        m.slow()
    kept = [s for s in collect.ended if s.name != "request"]
    assert len(kept) == 2
    for span in kept:
        assert isinstance(span, spans.FinishedSpan)
        for field in spans.FinishedSpan.__slots__:
            prop = getattr(ReadableSpan, field)
            assert isinstance(prop, property)
            assert getattr(span, field) == prop.fget(span), field
        assert span.context.span_id != 0 and span.context.is_valid


def test_sdk_path_where_the_shortcut_would_decide_otherwise(use_sampler) -> None:  # type: ignore[no-untyped-def]
    # Unsampled parent without RecordSampledOut: the SDK makes non-recording children.
    use_sampler(ParentBased(ALWAYS_ON))
    unsampled = SpanContext(1, 2, False, TraceFlags(TraceFlags.DEFAULT))
    assert not spans.shortcut.applies(unsampled)
    sampled = SpanContext(1, 2, False, TraceFlags(TraceFlags.SAMPLED))
    assert spans.shortcut.applies(sampled)
    use_sampler(DEFAULT)
    assert spans.shortcut.applies(unsampled)
    # A sampler that is not parent-based (it could decide by name): SDK path.
    use_sampler(ALWAYS_ON)
    assert not spans.shortcut.applies(sampled)


def test_private_opentelemetry_attributes_are_there() -> None:
    """The shortcut and the context hook read these; a new OpenTelemetry release that
    renames one must fail here (the code then falls back, see the tests below)."""
    sampler = ParentBased(ALWAYS_ON)
    assert getattr(sampler, "_local_parent_sampled") is ALWAYS_ON  # noqa: B009
    assert getattr(sampler, "_local_parent_not_sampled") is ALWAYS_OFF  # noqa: B009
    tracer = TracerProvider().get_tracer("x")
    assert getattr(tracer, "_instrumentation_scope").name == "x"  # noqa: B009
    runtime_context = getattr(otel_context, "_RUNTIME_CONTEXT")  # noqa: B009
    assert all(callable(getattr(runtime_context, m)) for m in ("attach", "detach", "get_current"))
    assert spans._span_context_layout_ok()


def test_unknown_sampler_internals_fall_back_to_the_sdk(use_sampler, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    sampler = ParentBased(ALWAYS_ON)
    collect = use_sampler(sampler)
    # Equivalent, but not the object the shortcut knows: the SDK decides.
    monkeypatch.setattr(sampler, "_local_parent_sampled", StaticSampler(Decision.RECORD_AND_SAMPLE))
    m = load(SOURCE)
    with tracer_module.get_tracer().start_as_current_span("request"):
        inner = m.current()
        m.slow()
    assert not isinstance(inner, spans.AutoSpan) and inner.name == n(m, "current")
    assert len(collect.ended) == 3


def test_missing_runtime_context_only_counts(monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    runtime.unhook_context()
    monkeypatch.setattr(otel_context, "_RUNTIME_CONTEXT", None)
    with caplog.at_level(logging.WARNING, "django_tracekit"):
        assert context.hook_context() is False
    assert "counted but never become spans" in caplog.text
    monkeypatch.undo()
    m = load(SOURCE)
    counters.drain()
    m.slow()
    assert counters.drain()[n(m, "slow")][0] == 1
