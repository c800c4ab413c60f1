"""Auto-tracing end to end: the test project under real gunicorn, spans over real OTLP.

MIN_DURATION_MS is 20 and every "slow" function sleeps 30 ms, so which calls become spans
is exact; fast calls (microseconds) are only counted.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from tests.autotrace.conftest import ShopServer, Worker

pytestmark = pytest.mark.requires("opentelemetry.exporter.otlp.proto.http")

REQUEST = "GET /s/<str:name>"
VIEW = "shop/views/scenario"
ERROR = 2  # OTLP Status.STATUS_CODE_ERROR


def tree(shop: ShopServer, name: str, expected_status: int = 200) -> list[tuple[str, str]]:
    """Run a scenario; its spans as (name, parent name), in a stable order."""
    before = {s.span_id for s in shop.receiver.spans}
    assert shop.get_status(f"/s/{name}") == expected_status
    spans = shop.receiver.wait_for(
        lambda all_: any(s.name == REQUEST and s.span_id not in before for s in all_))
    (request,) = [s for s in spans if s.name == REQUEST and s.span_id not in before]
    mine = _closed_trace(shop, request.trace_id)
    names = {s.span_id: s.name for s in mine}
    return sorted((s.name, names.get(s.parent_span_id, "")) for s in mine)


def _closed_trace(shop: ShopServer, trace_id: str) -> list[Any]:
    """The spans of ``trace_id`` once each one's parent has arrived too (a parent ends, and
    is exported, after its children; the request span is the root)."""
    def closed(spans: list[Any]) -> bool:
        mine = [s for s in spans if s.trace_id == trace_id]
        ids = {s.span_id for s in mine}
        return all(s.parent_span_id in ids or s.name == REQUEST for s in mine)

    shop.receiver.wait_for(closed)
    return [s for s in shop.receiver.spans if s.trace_id == trace_id]


def spans_named(shop: ShopServer, name: str) -> list[Any]:
    return shop.receiver.named(name)


def common(*pairs: tuple[str, str]) -> list[tuple[str, str]]:
    # Every scenario runs under the request span and the middleware's view span, which is
    # named by the same convention as the auto-traced view function itself and stands for
    # it: the view function gets no second span of the same name.
    return sorted([(REQUEST, ""), (VIEW, REQUEST), *pairs])


FAST_VIEW = sorted([(REQUEST, ""), (VIEW, REQUEST)])  # nothing kept below the view


def test_methods_properties_classmethods_nested(shop: ShopServer) -> None:
    # build (classmethod) -> nested (slow); run -> total (slow property); validate and
    # apply (staticmethod) are fast: counted, not spans.
    assert tree(shop, "checkout") == common(
        ("shop/services/Checkout/build", VIEW),
        ("shop/services/Checkout/build/nested", "shop/services/Checkout/build"),
        ("shop/services/Checkout/run", VIEW),
        ("shop/services/Checkout/total", "shop/services/Checkout/run"),
    )
    (span,) = spans_named(shop, "shop/services/Checkout/total")
    assert span.attributes["code.function.name"] == "shop.services.Checkout.total"
    assert span.attributes["code.file.path"].endswith("shop/services.py")
    assert span.duration_s >= 0.03


def test_decorators_above_and_below_and_wraps(shop: ShopServer) -> None:
    # @logged(functools.wraps) above @tag (a registry) above the function: the wrapper is
    # project code (a span), the registry holds the instrumented function.
    assert tree(shop, "decorated") == common(
        ("shop/services/decorated", "shop/services/logged/wrapper"),
        ("shop/services/logged/wrapper", VIEW),
    )
    assert shop.get_json("/status")["registry_is_instrumented"] is True


def test_recursion_keeps_each_slow_level(shop: ShopServer) -> None:
    assert tree(shop, "recurse") == common(
        ("shop/services/recurse", VIEW),
        ("shop/services/recurse", "shop/services/recurse"),
        ("shop/services/recurse", "shop/services/recurse"),
        ("shop/services/recurse", "shop/services/recurse"),
    )


def test_error_is_kept_even_when_fast_and_recorded_once(shop: ShopServer) -> None:
    assert tree(shop, "error", expected_status=500) == common(
        ("shop/services/inner_error", "shop/services/outer_error"),
        ("shop/services/outer_error", VIEW),
    )
    (inner,) = spans_named(shop, "shop/services/inner_error")
    (outer,) = spans_named(shop, "shop/services/outer_error")
    # One stack, on the innermost span, with the callers above the recording point.
    (event,) = inner.exceptions
    assert event["exception.type"] == "ValueError"
    stack = event["exception.stacktrace"]
    assert "in inner_error" in stack and "in outer_error" in stack and "in scenario" in stack
    assert inner.status_code == ERROR
    assert outer.status_code == ERROR and outer.exceptions == []
    assert outer.attributes["tracekit.error.span_id"] == inner.span_id


def test_fast_function_is_kept_as_parent_of_another_instrumentations_span(
        shop: ShopServer) -> None:
    assert tree(shop, "with_span") == common(
        ("inside", "shop/services/with_span"),
        ("shop/services/with_span", VIEW),
    )


def test_generator_segments_do_not_swallow_the_consumer(shop: ShopServer) -> None:
    # Only the slow segment of numbers() is a span; consume()'s calls to fast() happen
    # while the generator is suspended and are not parented under it (they are fast).
    shop.get_json("/counts")
    assert tree(shop, "generator") == common(
        ("shop/services/consume", VIEW),
        ("shop/services/numbers", "shop/services/consume"),
    )
    # Each resumption-to-suspension segment is one call: start..yield 0, ..yield 1 (the
    # slow one), ..yield 2, ..return.
    assert shop.get_json("/counts")["shop/services/numbers"][0] == 4


def test_coroutines_tasks_and_async_generators(shop: ShopServer) -> None:
    shop.get_json("/counts")
    assert tree(shop, "async") == common(
        ("shop/asyncwork/drain_ticks", "shop/asyncwork/main"),
        ("shop/asyncwork/fan_out", "shop/asyncwork/main"),
        ("shop/asyncwork/main", "shop/asyncwork/run"),
        ("shop/asyncwork/run", VIEW),
        ("shop/asyncwork/step", "shop/asyncwork/fan_out"),
        ("shop/asyncwork/step", "shop/asyncwork/fan_out"),
        ("shop/asyncwork/ticks", "shop/asyncwork/drain_ticks"),
    )
    counts = shop.get_json("/counts")
    assert counts["shop/asyncwork/ticks"][0] == 3  # segments: ..yield 0, ..yield 1, ..end
    assert counts["shop/asyncwork/step"][0] == 2


def test_no_autotrace_function_class_and_alias(shop: ShopServer) -> None:
    # Three slow calls (90 ms) and not one span: only the view's (slow) call remains.
    assert tree(shop, "pulled_back") == common()
    counts = shop.get_json("/counts")
    assert not [n for n in counts if "pulled_back" in n.lower()]


def test_fast_calls_are_counted_exactly_excludes_are_not(shop: ShopServer) -> None:
    shop.get_json("/counts")  # drain what earlier tests counted
    assert tree(shop, "fast_calls") == FAST_VIEW
    counts = shop.get_json("/counts")
    calls, total_ns, max_ns = counts["shop/services/fast"]
    assert calls == 100
    assert 0 < max_ns <= total_ns
    assert counts["shop/views/_fast_calls"][0] == 1
    assert VIEW not in counts  # the view span stands for the call: not counted twice
    # EXCLUDE: the whole module shop.fastpath and the glob shop.services.fast_*; shop.early
    # was imported before the hook (reported below, never silently counted).
    assert not [n for n in counts if "fastpath" in n or "fast_helper" in n or "early" in n]
    # Drained: a second drain starts from zero.
    assert "shop/services/fast" not in shop.get_json("/counts")


def test_excluded_requests_and_system_checks_are_not_usage(shop: ShopServer) -> None:
    """The wger trial: browsing tracekit's own pages (excluded, like EXCLUDED_URLS) counted
    the project's middleware and context processors, and the worker's start-up checks made
    a check helper a used function. Neither is counted; the same calls in a request are."""
    shop.get_json("/counts")  # drain what earlier tests counted
    assert shop.get_json("/x/fast_calls") == "ok"  # EXCLUDED_URLS: untraced, not usage
    assert shop.get_json("/status")["services_traced"] is True  # runs the system checks
    counts = shop.get_json("/counts")
    assert not [n for n in counts if n.startswith("shop/services/")], counts
    assert "shop/views/_fast_calls" not in counts
    assert tree(shop, "fast_calls") == FAST_VIEW  # the same calls, in a traced request
    assert shop.get_json("/counts")["shop/services/fast"][0] == 100


def test_module_getattr_and_init_subclass(shop: ShopServer) -> None:
    shop.get_json("/counts")
    assert tree(shop, "getattr") == FAST_VIEW
    assert shop.get_json("/s/subclasses") == ["Checkout"]
    counts = shop.get_json("/counts")
    assert counts["shop/lazy/__getattr__"][0] == 1
    # __init_subclass__ ran once, at import, when Checkout was defined: counted then.
    assert shop.get_json("/status")["services_traced"] is True


def test_imported_before_and_fallback_are_reported(shop: ShopServer) -> None:
    status = shop.get_json("/status")
    assert status["imported_before"] == ["shop.early"]
    assert status["fallbacks"] == ["shop.deep"]
    assert status["deep_traced"] is False and status["deep_works"] == 0
    assert status["check_ids"] == ["django_tracekit.W030", "django_tracekit.W031"]
    log = shop.log()
    # wsgi.py imported it: `manage.py check`, run apart, would not, so the line says so.
    assert ("not auto-traced (imported before auto-tracing was installed): shop.early; "
            "this process's entry point imported them before Django loaded its apps") in log
    assert "could not instrument shop.deep" in log


@pytest.mark.skipif(sys.version_info < (3, 12), reason="type-parameter syntax is 3.12+")
def test_type_parameter_syntax_module(shop: ShopServer) -> None:
    # shop.py312 is imported only on 3.12+ (its syntax would not parse before).
    assert tree(shop, "py312") == common(
        ("shop/py312/Box/get", "shop/views/_py312"),
        ("shop/py312/first", "shop/views/_py312"),
        ("shop/views/_py312", VIEW),
    )


@pytest.mark.requires("celery")
def test_celery_task_function_is_traced_in_the_worker(shop: ShopServer, worker: Worker) -> None:
    before = {s.span_id for s in shop.receiver.spans}
    assert shop.get_json("/s/celery") == "sent"
    spans = shop.receiver.wait_for(lambda all_: {"shop/services/slow", REQUEST} <= {
        s.name for s in all_ if s.span_id not in before}, timeout=30)
    (request,) = [s for s in spans if s.name == REQUEST and s.span_id not in before]
    expected = {REQUEST, VIEW, "shop/views/_send_task", "apply_async/shop.tasks.process",
                "shop/tasks/process", "shop/services/slow"}
    mine = shop.receiver.wait_for(lambda all_: expected <= {
        s.name for s in all_ if s.trace_id == request.trace_id}, timeout=30)
    mine = [s for s in mine if s.trace_id == request.trace_id]
    names = {s.span_id: s.name for s in mine}
    task = "shop/tasks/process"
    publish = "apply_async/shop.tasks.process"
    # The view's auto-traced frames are kept as the publish span's parents (fast, but
    # another instrumentation needed them); in the prefork child, the integration's task
    # span stands for the auto-traced task function, and the slow service is under it.
    assert sorted((s.name, names.get(s.parent_span_id, "")) for s in mine) == common(
        ("shop/views/_send_task", VIEW),
        (publish, "shop/views/_send_task"),
        (task, publish),
        ("shop/services/slow", task),
    ), worker.log()
