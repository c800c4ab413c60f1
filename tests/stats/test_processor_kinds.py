"""STATS['KINDS']: the processor counts only the kinds listed, from real spans; a left-out
kind's span still claims its errors' groups; the integration passes the setting on."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

import django_tracekit as tracekit
from django_tracekit.conf import resolve
from django_tracekit.destinations.stats.integration import StatsIntegration
from django_tracekit.destinations.stats.memory import memory_counts
from django_tracekit.destinations.stats.processor import StatsProcessor
from tests.stats.test_groups_processor import Groups, charge
from tests.stats.test_processor import Capture


def traffic(provider: TracerProvider) -> None:
    """Two requests (each with its view function), a task, a command, a thread's function."""
    tracer = provider.get_tracer("django_tracekit")
    for _ in range(2):
        with tracer.start_as_current_span("GET /orders/", kind=SpanKind.SERVER), \
                tracer.start_as_current_span("shop/orders/views/index"):
            pass
    tracer.start_span("shop/tasks/send_mail", kind=SpanKind.CONSUMER).end()
    tracer.start_span("shop/management/commands/import",
                      attributes={"tracekit.feature.kind": "command"}).end()
    tracer.start_span("shop/jobs/nightly").end()


def counted(kinds: tuple[str, ...]) -> dict[tuple[str, str], list[int]]:
    capture = Capture()
    processor = StatsProcessor(capture, start_thread=False, kinds=kinds)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    traffic(provider)
    assert processor.flush()
    return capture.totals


def test_every_kind_is_counted_by_default() -> None:
    capture = Capture()
    processor = StatsProcessor(capture, start_thread=False)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    traffic(provider)
    assert processor.flush()
    assert {kind for _feature, kind in capture.totals} == {"request", "task", "command",
                                                          "function"}


def test_functions_left_out_keep_the_entry_points_exact() -> None:
    assert counted(("request", "task", "command")) == {
        ("GET /orders/", "request"): [2, 0],
        ("shop/tasks/send_mail", "task"): [1, 0],
        ("shop/management/commands/import", "command"): [1, 0],
    }


def test_only_functions() -> None:
    assert counted(("function",)) == {
        ("shop/orders/views/index", "function"): [2, 0],
        ("shop/jobs/nightly", "function"): [1, 0],
    }


def test_a_left_out_entry_point_still_claims_its_errors() -> None:
    groups = Groups()
    processor = StatsProcessor(Capture(), start_thread=False, group_writer=groups,
                               kinds=("function",))
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("django_tracekit")
    with tracer.start_as_current_span("POST /pay/", kind=SpanKind.SERVER), \
            tracer.start_as_current_span("shop/pay/view") as view:
        try:
            charge(5)
        except ValueError as exc:
            tracekit.record_error(exc, view)
    assert processor.flush()
    # Under the request (not "(other)"), though requests are not counted.
    assert groups.counts() == {("tests/stats/test_groups_processor/charge", "POST /pay/"): 1}


def test_a_left_out_local_root_function_still_claims_its_errors() -> None:
    groups = Groups()
    processor = StatsProcessor(Capture(), start_thread=False, group_writer=groups,
                               kinds=("request", "task", "command"))
    provider = TracerProvider()
    provider.add_span_processor(processor)
    with provider.get_tracer("django_tracekit").start_as_current_span(
            "shop/jobs/nightly") as root:
        try:
            charge(6)
        except ValueError as exc:
            tracekit.record_error(exc, root)
    assert processor.flush()
    assert groups.counts() == {("tests/stats/test_groups_processor/charge",
                                "shop/jobs/nightly"): 1}


def test_the_integration_passes_the_setting_on() -> None:
    config = resolve({"PROJECT_NAME": "shop",
                      "STATS": {"KINDS": ["request", "task", "command"]}}, {})
    (processor,) = StatsIntegration(config).processors(owns_provider=True)
    assert isinstance(processor, StatsProcessor)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    before, _ = memory_counts.snapshot()  # a test run: the default writer writes here
    provider.get_tracer("django_tracekit").start_span("kinds/only/a/function").end()
    provider.get_tracer("django_tracekit").start_span(
        "GET /kinds/", kind=SpanKind.SERVER).end()
    assert processor.flush()
    after, _ = memory_counts.snapshot()
    new = {key[:2] for key in after if key not in before}
    assert ("GET /kinds/", "request") in new
    assert not any(name == "kinds/only/a/function" for name, _kind in new)
    processor.shutdown()
