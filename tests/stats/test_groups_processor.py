"""Error groups in the stats processor: counted once where raised, under their entry point."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind

import django_tracekit as tracekit
from django_tracekit.core.sampling import RecordSampledOut
from django_tracekit.destinations.stats.groups import GroupBatch
from django_tracekit.destinations.stats.processor import StatsProcessor
from django_tracekit.destinations.stats.records import OTHER_FEATURE


class Groups:
    def __init__(self) -> None:
        self.batches: list[GroupBatch] = []

    def __call__(self, batch: GroupBatch) -> None:
        self.batches.append(batch)

    def counts(self) -> dict[tuple[str, str], int]:
        """{(location, entry point): count} over every batch written."""
        out: dict[tuple[str, str], int] = {}
        for batch in self.batches:
            for (fingerprint, feature, _kind, _service, _minute), n in batch.counts.items():
                key = (batch.groups[fingerprint].location, feature)
                out[key] = out.get(key, 0) + n
        return out


def make(sampler: Any = None) -> tuple[TracerProvider, StatsProcessor, Groups]:
    groups = Groups()
    processor = StatsProcessor(lambda increments, errors: 0, start_thread=False,
                               group_writer=groups)
    provider = TracerProvider(sampler=sampler) if sampler is not None else TracerProvider()
    provider.add_span_processor(processor)
    return provider, processor, groups


def charge(amount: int) -> None:
    raise ValueError(f"card declined: {amount}")


def test_one_count_per_error_under_its_entry_point() -> None:
    # Sampled out: counted all the same.
    provider, processor, groups = make(RecordSampledOut(ParentBased(TraceIdRatioBased(0.0))))
    tracer = provider.get_tracer("django_tracekit")
    for amount in (10, 20, 30):
        with tracer.start_as_current_span("POST /pay/", kind=SpanKind.SERVER) as server, \
                tracer.start_as_current_span("shop/pay/view") as view, \
                tracer.start_as_current_span("shop/pay/charge") as inner:
            try:
                charge(amount)
            except ValueError as exc:
                # Recorded where raised, then again on each enclosing span: one error.
                for span in (inner, view, server):
                    tracekit.record_error(exc, span)
    assert processor.flush()
    assert groups.counts() == {("tests/stats/test_groups_processor/charge", "POST /pay/"): 3}
    examples = [e.occurrence.message for b in groups.batches for e in b.examples]
    assert examples == ["card declined: 10", "card declined: 20", "card declined: 30"]


def test_without_entry_point_the_local_root_claims_it() -> None:
    provider, processor, groups = make()
    tracer = provider.get_tracer("django_tracekit")
    with tracer.start_as_current_span("shop/jobs/nightly") as root:
        try:
            charge(1)
        except ValueError as exc:
            tracekit.record_error(exc, root)
    assert processor.flush()
    assert groups.counts() == {("tests/stats/test_groups_processor/charge",
                                "shop/jobs/nightly"): 1}


def test_an_entry_point_that_never_ends_counts_under_other_at_shutdown() -> None:
    provider, processor, groups = make()
    tracer = provider.get_tracer("django_tracekit")
    server = tracer.start_span("GET /stuck/", kind=SpanKind.SERVER)
    try:
        charge(2)
    except ValueError as exc:
        tracekit.record_error(exc, server)
    assert processor.flush()
    assert groups.counts() == {}  # still waiting for its entry point
    processor.shutdown()
    assert groups.counts() == {("tests/stats/test_groups_processor/charge", OTHER_FEATURE): 1}


def test_a_failed_write_is_retried_without_counting_twice() -> None:
    provider, processor, groups = make()
    tracer = provider.get_tracer("django_tracekit")
    failing = [True]

    def writer(batch: GroupBatch) -> None:
        if failing[0]:
            raise ConnectionError("database is down")
        groups(batch)

    processor._groups.writer = writer
    processor._group_writer = writer
    for _ in range(2):
        with tracer.start_as_current_span("GET /a/", kind=SpanKind.SERVER) as span:
            try:
                charge(3)
            except ValueError as exc:
                tracekit.record_error(exc, span)
        processor.flush()
    failing[0] = False
    assert processor.flush()
    assert processor.flush()
    assert groups.counts() == {("tests/stats/test_groups_processor/charge", "GET /a/"): 2}
