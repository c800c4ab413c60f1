"""In-process tests of the rewriter and the runtime (fast; no server).

Modules are compiled from source strings with the rewriter, as the import hook does, and
run against the in-process tracer (tests.support.memory captures the spans).
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import inspect
import random
import sys
import textwrap
import threading
import time
import traceback
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan

import django_tracekit as tracekit
from django_tracekit.sources import autotrace
from django_tracekit.sources.autotrace import calls, counters, hook, rewrite, runtime, sites
from tests.conftest import Spans
from tests.support.packages import importable

SLOW = 0.012  # above the 5 ms threshold used here; fast calls take microseconds
_seq = iter(range(1_000_000))


@pytest.fixture(autouse=True)
def hooked() -> Iterator[None]:
    old = runtime.threshold()
    runtime.set_threshold(0.005)
    runtime.hook_context()
    counters.drain()
    try:
        yield
    finally:
        runtime.unhook_context()
        runtime.set_threshold(old)


def load(source: str, exclude: tuple[str, ...] = ()) -> types.ModuleType:
    """Compile ``source`` as a fresh module ``shop.mN`` through the rewriter."""
    name = f"shop.m{next(_seq)}"
    module = types.ModuleType(name)
    code, result = rewrite.compile_module(textwrap.dedent(source), name, f"/srv/{name}.py",
                                          exclude)
    module.__dict__.update(rewrite.module_globals(result))
    module.__dict__["time"] = time
    exec(code, module.__dict__)
    return module


def n(module: types.ModuleType, qualname: str) -> str:
    """The convention name of ``qualname`` in ``module`` (PROJECT_NAME is "tests")."""
    return "tests/" + module.__name__.replace(".", "/") + "/" + qualname.replace(".", "/")


def tree(spans: Spans) -> list[tuple[str, str]]:
    finished: list[ReadableSpan] = spans.all()
    names = {s.context.span_id: s.name for s in finished}
    return sorted((s.name, names.get(s.parent.span_id, "?") if s.parent else "")
                  for s in finished)


SOURCE = """
import time
SLOW = 0.012

def fast(x):
    return x + 1

def slow():
    time.sleep(SLOW)
    return fast(1)

def middle():
    return slow()

def outer():
    fast(1)
    return middle()

def with_span():
    with tracekit.span("inside"):
        pass
"""


def traced_module() -> types.ModuleType:
    module = load(SOURCE)
    module.tracekit = tracekit  # type: ignore[attr-defined]
    return module


def test_fast_calls_are_counted_exactly_outside_traces(spans: Spans) -> None:
    m = traced_module()
    for i in range(1000):
        m.fast(i)
    calls, total_ns, max_ns = counters.drain()[n(m, "fast")]
    assert calls == 1000
    assert 0 < max_ns <= total_ns
    assert spans.all() == []
    assert n(m, "fast") not in counters.drain()  # drained


def counter_of(module: types.ModuleType, qualname: str) -> Any:
    """The counter rewritten code of ``module`` updates for ``qualname``."""
    return next(value for value in vars(module).values()
                if isinstance(value, sites.Counter) and value.site.qualname == qualname)


OUTSIDE = """
import time

def fast(x):
    return x + 1

def alternating(i):
    if i % 2:
        time.sleep(0.001)
    return i

def fail():
    raise ValueError("boom")

def with_span():
    with tracekit.span("inside"):
        return fast(1)
"""


def test_outside_traces_most_calls_read_no_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside a recorded trace only about one call in SAMPLE_EVERY is timed (two clock
    reads); the others count down a window. Every call is counted."""
    m = load(OUTSIDE)
    reads = {"clock": 0, "sample": 0}
    real_clock, real_ns = runtime.clock, calls.perf_counter_ns

    def clock() -> float:
        reads["clock"] += 1
        return real_clock()

    def sample_clock() -> int:
        reads["sample"] += 1
        return real_ns()

    monkeypatch.setitem(vars(m), "_tk_clock", clock)
    monkeypatch.setattr(calls, "perf_counter_ns", sample_clock)
    for i in range(2000):
        m.fast(i)
    measured = counter_of(m, "fast").n
    assert reads["clock"] == 0  # the in-trace clock: not read outside traces
    assert reads["sample"] == 2 * measured
    assert 2000 / (4 * sites.SAMPLE_EVERY) < measured < 2000 / 4
    calls_, total_ns, max_ns = counters.drain()[n(m, "fast")]
    assert calls_ == 2000
    assert 0 < max_ns <= total_ns


def test_outside_traces_counts_are_exact_across_threads() -> None:
    """Threads counting down the same window (switching as often as the interpreter lets
    them) lose no call and count none twice."""
    m = load(OUTSIDE)
    threads, per_thread = 4, 5000
    start = threading.Barrier(threads)

    def run() -> None:
        start.wait()
        for i in range(per_thread):
            m.fast(i)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        workers = [threading.Thread(target=run) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(interval)
    assert counters.drain()[n(m, "fast")][0] == threads * per_thread


def test_outside_traces_the_total_is_estimated_from_random_samples(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every other call sleeps: a sample taken every N calls (N even) would see only one
    kind and put the total near 0; random windows see both. The estimate is at least half
    of what the sleeping calls took, and no more than every call at the longest one."""
    monkeypatch.setattr(calls, "_window", functools.partial(random.Random(7).getrandbits, 5))
    m = load(OUTSIDE)
    m.fast(0)  # (the first auto-traced call of a test process ends its start-up phase)
    for i in range(600):
        m.alternating(i)
    calls_, total_ns, max_ns = counters.drain()[n(m, "alternating")]
    assert calls_ == 600
    assert max_ns >= 0.001 * 1e9
    assert 0.5 * 300 * 0.001 * 1e9 <= total_ns <= 600 * max_ns


def test_outside_traces_unmeasured_calls_take_the_last_known_mean(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A drain period whose calls were all unmeasured still gets a total: their number
    times the mean of the sampled calls seen before."""
    monkeypatch.setattr(calls, "_window", lambda: 1000)  # one timed call, then 1000 not
    m = load(OUTSIDE)
    for i in range(200):
        m.fast(i)
    first = counters.drain()[n(m, "fast")]
    assert first[0] == 200 and first[1] > 0
    for i in range(5):
        m.fast(i)
    calls_, total_ns, _ = counters.drain()[n(m, "fast")]
    assert calls_ == 5
    assert total_ns == round(5 * counter_of(m, "fast").sm * 1e9) > 0


def test_outside_traces_errors_and_spans_inside_a_counted_call(spans: Spans) -> None:
    """Unmeasured and sampled calls alike: an error outside a trace propagates untouched and
    is counted; a span started inside such a call is a root of its own, the call counted."""
    m = load(OUTSIDE)
    m.tracekit = tracekit  # type: ignore[attr-defined]
    for _ in range(100):
        with pytest.raises(ValueError, match="boom"):
            m.fail()
    for _ in range(40):
        m.with_span()
    counts = counters.drain()
    assert counts[n(m, "fail")][0] == 100
    assert counts[n(m, "with_span")][0] == 40
    inside = [s for s in spans.all() if s.name == "inside"]
    assert len(inside) == 40 and all(s.parent is None for s in inside)


def test_first_slow_call_is_kept_with_nearest_kept_ancestors(spans: Spans) -> None:
    m = traced_module()
    with tracekit.span("root"):
        m.outer()
    # outer -> middle -> slow are slow (they contain slow); fast() twice is not kept.
    assert tree(spans) == sorted([
        (n(m, "middle"), n(m, "outer")),
        (n(m, "outer"), "root"),
        (n(m, "slow"), n(m, "middle")),
        ("root", ""),
    ])
    slow = spans.named(n(m, "slow"))
    assert slow.attributes["code.function.name"] == f"{m.__name__}.slow"
    assert slow.end_time - slow.start_time >= SLOW * 1e9
    root = spans.named("root")
    assert root.start_time <= spans.named(n(m, "outer")).start_time
    assert counters.drain()[n(m, "fast")][0] == 2


def test_other_instrumentation_inside_a_fast_call_gets_it_as_parent(spans: Spans) -> None:
    m = traced_module()
    with tracekit.span("root"):
        m.with_span()
    assert tree(spans) == sorted([("inside", n(m, "with_span")), ("root", ""),
                           (n(m, "with_span"), "root")])


def test_default_span_at_the_top_of_an_auto_traced_function_is_its_span(
        spans: Spans) -> None:
    m = load("""
        import django_tracekit as tracekit
        def checkout(items):
            with tracekit.span(attributes={"order.items": items}):
                return items
    """)
    with tracekit.span("root"):
        m.checkout(3)
    assert tree(spans) == [("root", ""), (n(m, "checkout"), "root")]
    assert spans.named(n(m, "checkout")).attributes["order.items"] == 3
    assert counters.drain_unspanned() == {}  # counted once: through its span


def test_nothing_but_counting_when_the_trace_is_not_recording(spans: Spans) -> None:
    m = traced_module()
    unsampled = trace.NonRecordingSpan(trace.SpanContext(1, 2, False))
    with trace.use_span(unsampled):
        m.outer()
    assert spans.all() == []
    assert counters.drain()[n(m, "slow")][0] == 1


def test_errors_are_kept_recorded_once_outcomes_are_not(spans: Spans) -> None:
    m = load("""
        from django.http import Http404
        def inner():
            raise ValueError("broken")
        def outer():
            return inner()
        def missing():
            raise Http404("no")
        def probe():
            try:
                return missing()
            except Http404:
                return None
    """)
    with tracekit.span("root"), pytest.raises(ValueError):
        m.outer()
    inner, outer = spans.named(n(m, "inner")), spans.named(n(m, "outer"))
    (event,) = inner.events
    assert event.name == "exception"
    assert "in inner" in event.attributes["exception.stacktrace"]
    assert "in outer" in event.attributes["exception.stacktrace"]
    assert outer.events == ()  # a reference, not a second copy
    assert outer.attributes["tracekit.error.span_id"] == format(inner.context.span_id, "016x")
    assert outer.status.status_code is trace.StatusCode.ERROR
    spans.clear()
    with tracekit.span("root"):
        m.probe()  # Http404 is an outcome: fast calls stay unkept
    assert tree(spans) == sorted([("root", "")])


def test_tracebacks_keep_original_lines_docstrings_and_signatures() -> None:
    m = load('''
        def documented(a, b=2, *args, c, **kw):
            """Doc."""
            x = a
            raise KeyError(x)
    ''')
    assert m.documented.__doc__ == "Doc."
    assert str(inspect.signature(m.documented)) == "(a, b=2, *args, c, **kw)"
    with pytest.raises(KeyError) as info:
        m.documented(1, c=3)
    assert traceback.extract_tb(info.tb)[-1].lineno == 5  # the raise line of the source


def test_generator_segments_are_calls_and_never_span_a_suspension(spans: Spans) -> None:
    m = load("""
        import time
        def numbers():
            yield 1
            time.sleep(0.012)
            x = yield 2
            yield x
        def fast(x):
            return x
        def consume():
            gen = numbers()
            out = [fast(next(gen)), fast(next(gen)), fast(gen.send(5))]
            gen.close()
            return out
    """)
    with tracekit.span("root"):
        assert m.consume() == [1, 2, 5]
    # Segments: start..yield 1, ..yield 2 (slow), ..yield x, then close: 4 calls, 1 kept.
    assert counters.snapshot()[n(m, "numbers")][0] == 3
    assert tree(spans) == sorted([(n(m, "consume"), "root"), (n(m, "numbers"), n(m, "consume")),
                           ("root", "")])
    # The consumer's fast() calls ran while numbers() was suspended: never its children.
    assert counters.drain()[n(m, "fast")][0] == 3


def test_coroutines_tasks_and_async_generators(spans: Spans) -> None:
    m = load("""
        import asyncio
        async def step():
            await asyncio.sleep(0.012)
        async def fan_out():
            await asyncio.gather(step(), step())
        async def ticks():
            await asyncio.sleep(0.012)
            yield 1
        async def main():
            await fan_out()
            return [i async for i in ticks()]
    """)
    with tracekit.span("root"):
        assert asyncio.run(m.main()) == [1]
        assert runtime.top().__class__ is runtime.Root  # no frame leaked into our context
    assert tree(spans) == sorted([
        (n(m, "fan_out"), n(m, "main")),
        (n(m, "main"), "root"),
        ("root", ""),
        (n(m, "step"), n(m, "fan_out")),
        (n(m, "step"), n(m, "fan_out")),
        (n(m, "ticks"), n(m, "main")),
    ])


def test_what_is_instrumented_and_how_it_is_named() -> None:
    m = load("""
        import functools
        def deco(f):
            @functools.wraps(f)
            def wrapper(*a):
                return f(*a)
            return wrapper
        class Base:
            def __init_subclass__(cls, **kw):
                super().__init_subclass__(**kw)
        class Cart(Base):
            @deco
            def add(self):
                def nested():
                    return 1
                return nested()
            @staticmethod
            def s():
                return 1
            @classmethod
            def c(cls):
                return 1
            @property
            def p(self):
                return 1
            @p.setter
            def p(self, value):
                pass
            def __del__(self):
                pass
        square = lambda x: x * x
        def __getattr__(name):
            return name
    """)
    cart = m.Cart()
    cart.add(); m.Cart.s(); m.Cart.c(); _ = cart.p; cart.p = 2; _ = m.anything  # noqa: E702
    counts = counters.drain()
    assert {name: c[0] for name, c in counts.items()} == {
        n(m, "deco"): 1,
        n(m, "Base.__init_subclass__"): 1,
        n(m, "deco.wrapper"): 1,
        n(m, "Cart.add"): 1,
        n(m, "Cart.add.nested"): 1,
        n(m, "Cart.s"): 1,
        n(m, "Cart.c"): 1,
        n(m, "Cart.p"): 2,  # getter and setter share the location name: merged
        n(m, "__getattr__"): 1,
    }
    assert not autotrace.is_instrumented(m.square)  # lambdas: expressions, not locations
    assert not autotrace.is_instrumented(m.Cart.__del__)  # runs at interpreter shutdown


def test_no_autotrace_and_exclude_globs() -> None:
    m = load("""
        import django_tracekit as tracekit
        from django_tracekit import no_autotrace
        @no_autotrace
        def off():
            def inner():
                return 1
            return inner
        @tracekit.no_autotrace
        class Off:
            def method(self):
                return 1
        def fast_path():
            return 1
        def kept():
            return 1
        alias = tracekit.no_autotrace
        @alias
        def off_by_alias():
            return 1
    """, exclude=("shop.m*.fast_*",))
    assert not autotrace.is_instrumented(m.off)
    assert not autotrace.is_instrumented(m.off())  # nested inside a pulled-back function
    assert not autotrace.is_instrumented(m.Off.method)
    assert not autotrace.is_instrumented(m.fast_path)
    assert autotrace.is_instrumented(m.kept)
    # The alias is invisible to the rewriter: handled by the loader after import (below).
    assert autotrace.is_instrumented(m.off_by_alias)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="type-parameter syntax is 3.12+")
def test_type_parameter_syntax() -> None:
    m = load("""
        def first[T](items: list[T]) -> T:
            return items[0]
        class Box[T]:
            def get(self) -> T:
                return 1
    """)
    assert m.first([3]) == 3 and m.Box().get() == 1
    counts = counters.drain()
    assert counts[n(m, "first")][0] == 1 and counts[n(m, "Box.get")][0] == 1


DEEP = "def deep(n):\n" + "".join(
    "    " * (i + 1) + f"for i{i} in range(n):\n" for i in range(20)) + "    " * 21 + "return 1\n"


@pytest.fixture
def package(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    name = f"tkpkg{next(_seq)}"
    with importable(tmp_path, name) as root:
        (root / "good.py").write_text(textwrap.dedent("""
            import django_tracekit as tracekit
            quiet = tracekit.no_autotrace
            def f():
                return 1
            @quiet
            def off_by_alias():
                return 1
        """))
        (root / "deep.py").write_text(DEEP)
        (root / "skipped.py").write_text("def f():\n    return 1\n")
        (root / "before.py").write_text("def f():\n    return 1\n")
        yield name, tmp_path


def test_import_hook_instruments_falls_back_and_reports(package: tuple[str, Path],
                                                        caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    name, base = package
    before = importlib.import_module(f"{name}.before")  # imported before the hook
    rules = hook.Rules(include=None, exclude=[f"{name}.skipped"], base_dir=str(base))
    assert autotrace._imported_before(rules) == [f"{name}.before"]
    finder = hook.Finder(rules)
    sys.meta_path.insert(0, finder)
    try:
        good = importlib.import_module(f"{name}.good")
        deep = importlib.import_module(f"{name}.deep")
        skipped = importlib.import_module(f"{name}.skipped")
        assert autotrace.is_instrumented(good.f)
        assert not autotrace.is_instrumented(good.off_by_alias)  # alias applied at load
        assert not autotrace.is_instrumented(deep.deep) and deep.deep(1) == 1
        assert finder.fallbacks[0][0] == f"{name}.deep"
        assert "too many statically nested blocks" in finder.fallbacks[0][1]
        assert f"could not instrument {name}.deep" in caplog.text
        assert not autotrace.is_instrumented(skipped.f)
        assert not autotrace.is_instrumented(before.f)
        # importlib.reload goes through the hook again: still instrumented, new code.
        old_code = good.f.__code__
        reloaded = importlib.reload(good)
        assert autotrace.is_instrumented(reloaded.f) and reloaded.f.__code__ is not old_code
        # runserver's autoreloader watches the real file of an instrumented module.
        from django.utils import autoreload

        assert (base / name / "good.py").resolve() in autoreload.iter_all_python_module_files()
        # Nothing of the rewrite is cached in __pycache__ for a normal import to pick up.
        assert not list((base / name).glob("__pycache__/good*.pyc"))
    finally:
        sys.meta_path.remove(finder)


LAZY = """
evaluated = []


class Lazy:
    # As Celery's @shared_task proxy: reading __class__ evaluates it (isinstance does).
    def __init__(self, make):
        object.__setattr__(self, "_make", make)

    @property
    def __class__(self):
        evaluated.append(True)
        return type(self._make())


def make_task():
    return 1


task = Lazy(make_task)
"""


def test_import_hook_leaves_lazy_objects_unevaluated(package: tuple[str, Path]) -> None:
    name, base = package
    (base / name / "lazy.py").write_text(LAZY)
    finder = hook.Finder(hook.Rules(include=None, exclude=[], base_dir=str(base)))
    sys.meta_path.insert(0, finder)
    try:
        lazy = importlib.import_module(f"{name}.lazy")
    finally:
        sys.meta_path.remove(finder)
    assert autotrace.is_instrumented(lazy.make_task)
    assert lazy.evaluated == []  # the module's proxy is evaluated when the app uses it
    assert isinstance(lazy.task, int) and lazy.evaluated == [True]


def test_rules_keep_stdlib_and_site_packages_out(tmp_path: Path) -> None:
    rules = hook.Rules(include=None, exclude=[], base_dir=str(tmp_path))
    assert rules.includes("shop.views", str(tmp_path / "shop" / "views.py"))
    venv_file = tmp_path / ".venv" / "lib" / "site-packages" / "requests" / "api.py"
    assert not rules.includes("requests.api", str(venv_file))
    assert not rules.includes("json.decoder", str(tmp_path / "json" / "decoder.py"))
    assert not rules.includes("other", "/elsewhere/other.py")
    named = hook.Rules(include=["shop"], exclude=["shop.migrations"], base_dir=None)
    assert named.includes("shop.orders.views", "/anywhere/shop/orders/views.py")
    assert not named.includes("shop.migrations.0001_initial", "/anywhere/m.py")
    assert not named.includes("shopping.views", "/anywhere/shopping/views.py")


def test_stats_get_every_call_once_spans_and_fast_counts(spans: Spans) -> None:
    """The admin's counts: kept calls through their spans, fast calls through the counters,
    none twice."""
    from django_tracekit.destinations.stats.processor import StatsProcessor
    from django_tracekit.destinations.stats.records import FUNCTION

    m = load("""
        import time
        def fast():
            return 1
        def slow():
            time.sleep(0.012)
    """)
    written: list[dict[Any, Any]] = []
    stats = StatsProcessor(lambda entries, errors: written.append(dict(entries)),
                           start_thread=False, service="svc")
    with tracekit.span("request"):
        for _ in range(5):
            m.fast()
        m.slow()
    for span in spans.all():  # what the provider would hand to the stats processor
        stats.on_end(span)
    assert stats.flush()
    by_feature = {key[0]: entry for key, entry in written[0].items() if key[1] == FUNCTION}
    assert by_feature[n(m, "fast")][0] == 5  # from the counters: no span for them
    assert by_feature[n(m, "slow")][0] == 1  # from its span only
    assert by_feature[n(m, "slow")][2] >= 12_000_000
    assert by_feature["request"][0] == 1
    assert counters.drain() == {}  # drained by the flush


def test_a_function_that_is_only_a_docstring_is_rewritten_and_counted(spans: Spans) -> None:
    # Misago's GetUserForm.confirm_allowed: the rewrite added a statement without a
    # location and the whole module was imported untraced (W031).
    m = load('''
        class Form:
            def confirm_allowed(self, user):
                """Nothing to check here."""

        def nothing():
            "Only a docstring."
    ''')
    assert m.Form().confirm_allowed(None) is None
    assert m.nothing() is None
    assert m.nothing.__doc__ == "Only a docstring."
    counted = counters.drain()
    assert counted[n(m, "Form.confirm_allowed")][0] == 1
    assert counted[n(m, "nothing")][0] == 1
