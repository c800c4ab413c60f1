"""The in-trace fast path: a plain function called under a pending auto-traced call pushes
nothing; its pending ancestors are found on the Python stack only when a span is needed
(slow, error, or another instrumentation's parent). Counts stay exact at any depth."""

from __future__ import annotations

import textwrap
import types
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased
from opentelemetry.trace import StatusCode

from django_tracekit.core import tracer as tracer_module
from django_tracekit.core.chain import top
from django_tracekit.core.errors import ERROR_SPAN_ID
from django_tracekit.core.sampling import RecordSampledOut
from django_tracekit.sources.autotrace import counters, rewrite, runtime

_seq = iter(range(1_000_000))

SOURCE = """
import time
from django_tracekit.core import tracer

def outer(depth, then):
    return down(depth, then)

def down(n, then):
    if n:
        return down(n - 1, then)
    return then()

def leaves(count):
    for _ in range(count):
        leaf()
    return count

def leaf():
    return 1

def sleeper(seconds):
    time.sleep(seconds)

def fail():
    raise ValueError("boom")

def caught():
    try:
        outer(3, fail)
    except ValueError:
        return "handled"

def other_instrumentation():
    # As a DB-query span would: an SDK span with the implicit (current) parent.
    with tracer.get_tracer().start_as_current_span("db query") as span:
        return span
"""


class Collect(SpanProcessor):
    def __init__(self) -> None:
        self.ended: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.append(span)


@pytest.fixture
def collect() -> Iterator[Collect]:
    old = tracer_module.get_tracer()
    threshold = runtime.threshold()
    runtime.hook_context()
    provider = TracerProvider(sampler=RecordSampledOut(ParentBased(ALWAYS_ON)))
    spans = Collect()
    provider.add_span_processor(spans)
    tracer_module.set_tracer(provider.get_tracer("django_tracekit"))
    counters.drain()
    try:
        yield spans
    finally:
        tracer_module.set_tracer(old)
        runtime.unhook_context()
        runtime.set_threshold(threshold)
        counters.drain()


def load() -> types.ModuleType:
    name = f"shop.fp{next(_seq)}"
    module = types.ModuleType(name)
    code, result = rewrite.compile_module(textwrap.dedent(SOURCE), name, f"/srv/{name}.py")
    module.__dict__.update(rewrite.module_globals(result))
    exec(code, module.__dict__)
    return module


def name(module: types.ModuleType, qualname: str) -> str:
    return "tests/" + module.__name__.replace(".", "/") + "/" + qualname


def counts(module: types.ModuleType) -> dict[str, int]:
    prefix = name(module, "")
    return {k[len(prefix):]: v[0] for k, v in counters.snapshot().items() if k.startswith(prefix)}


@pytest.mark.parametrize("depth", [10, 50, 200])
def test_below_threshold_calls_at_depth_are_counted_exactly_and_leave_nothing(
        collect: Collect, depth: int) -> None:
    runtime.set_threshold(60.0)  # nothing is slow: only the counting path runs
    m = load()
    with tracer_module.get_tracer().start_as_current_span("request"):
        before = top()
        assert m.outer(depth, lambda: m.leaves(500)) == 500
        # Nothing left pushed: the attached root, now as its own list (the fast path).
        assert top() is before.listed()
    assert runtime.live == {}
    assert counts(m) == {"outer": 1, "down": depth + 1, "leaves": 1, "leaf": 500}
    assert [s.name for s in collect.ended] == ["request"]


def test_first_slow_call_at_depth_is_a_span_under_its_real_ancestors(collect: Collect) -> None:
    runtime.set_threshold(0.05)
    m = load()
    with tracer_module.get_tracer().start_as_current_span("request") as root:
        before = top()
        m.outer(20, lambda: m.sleeper(0.06))  # the first slow call of sleeper: kept
        assert top() is before.listed()
    assert runtime.live == {}
    by_id = {s.context.span_id: s for s in collect.ended}
    slow = [s for s in collect.ended if s.name == name(m, "sleeper")]
    assert len(slow) == 1
    chain = []
    span = slow[0]
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        chain.append(span.name)
    # Every pending ancestor became a span, in stack order, down to the boundary call.
    assert chain == [name(m, "down")] * 21 + [name(m, "outer"), "request"]
    assert span.context.span_id == root.get_span_context().span_id
    snapshot = counters.snapshot()
    assert snapshot[name(m, "sleeper")][0] == 1
    assert snapshot[name(m, "down")][0] == 21


def test_error_below_threshold_recorded_once_with_the_full_stack(collect: Collect) -> None:
    runtime.set_threshold(60.0)
    m = load()
    with tracer_module.get_tracer().start_as_current_span("request"):
        assert m.caught() == "handled"
    assert runtime.live == {}
    failed = [s for s in collect.ended if s.name == name(m, "fail")]
    assert len(failed) == 1
    events = [e for s in collect.ended for e in s.events if e.name == "exception"]
    assert len(events) == 1  # once, on the raising call
    assert events[0] in failed[0].events
    stack = str(events[0].attributes["exception.stacktrace"])
    for function in ("caught", "outer", "down", "fail"):
        assert f"in {function}" in stack
    escaped = [s for s in collect.ended if s.name in (name(m, "down"), name(m, "outer"))]
    assert len(escaped) == 5  # outer + down x4, each referencing the raising span
    for span in escaped:
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes[ERROR_SPAN_ID] == format(failed[0].context.span_id, "016x")
    assert counts(m)["fail"] == 1


def test_another_instrumentations_span_parents_under_the_innermost_call(
        collect: Collect) -> None:
    runtime.set_threshold(60.0)
    m = load()
    with tracer_module.get_tracer().start_as_current_span("request"):
        m.outer(3, m.other_instrumentation)
        m.outer(3, m.leaf)  # afterwards: fast again, no span
    assert runtime.live == {}
    by_id = {s.context.span_id: s for s in collect.ended}
    query = next(s for s in collect.ended if s.name == "db query")
    assert query.parent is not None
    assert by_id[query.parent.span_id].name == name(m, "other_instrumentation")
    names = [s.name for s in collect.ended]
    assert names.count(name(m, "down")) == 4  # the first descent only
    assert name(m, "leaf") not in names


def test_calls_directly_under_a_span_push_nothing_and_a_slow_one_is_its_child(
        collect: Collect) -> None:
    # A span no instrumented function stands for (a DRF view's inherited ``get``): the
    # calls made directly under it (serializer methods) take the fast path from the first.
    runtime.set_threshold(0.05)
    m = load()
    with tracer_module.get_tracer().start_as_current_span("views/BookList/get") as span:
        root = top()
        assert root.__class__ is runtime.Root
        for _ in range(100):
            m.leaf()
        assert top() is root.listed()  # the root's own list: nothing pushed, nothing left
        m.sleeper(0.06)
        m.leaf()
    assert runtime.live == {}
    assert counts(m) == {"leaf": 101, "sleeper": 1}
    slow = [s for s in collect.ended if s.name == name(m, "sleeper")]
    assert len(slow) == 1
    assert slow[0].parent is not None
    assert slow[0].parent.span_id == span.get_span_context().span_id


def test_the_function_a_span_stands_for_is_not_counted_under_it(collect: Collect) -> None:
    # The span bears the name of an instrumented function: calls under it push frames until
    # that function was seen (not a second count), then take the fast path.
    runtime.set_threshold(60.0)
    m = load()
    with tracer_module.get_tracer().start_as_current_span(name(m, "leaves")):
        assert m.leaves(3) == 3
        assert top().__class__ is list  # the fast path after the function was seen
        m.leaf()
    assert counts(m) == {"leaf": 4}


def test_the_root_does_not_keep_the_first_fast_calls_caller_alive(collect: Collect) -> None:
    # Stack walks under a root end at the caller of its first fast call; the root keeps
    # that frame's identity, not the frame: holding it kept the frame (and each frame above
    # it, as they returned) with all their locals alive until the collector freed the root.
    import gc
    import weakref

    class Marker:
        pass

    runtime.set_threshold(60.0)
    m = load()
    gc.disable()  # the root is in a reference cycle: only the collector would free it
    try:
        with tracer_module.get_tracer().start_as_current_span("views/BookList/get"):
            root = top()

            def view() -> weakref.ref[Marker]:
                marker = Marker()
                m.leaf()  # the first fast call under the root: ``view`` is its caller
                return weakref.ref(marker)

            ref = view()
            assert top() is root.listed()
            assert ref() is None  # ``view``'s locals went with its frame
    finally:
        gc.enable()
