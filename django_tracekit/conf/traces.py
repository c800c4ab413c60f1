"""``TRACEKIT['TRACES']``: the admin's trace store (docs/trace_store.md)."""

from __future__ import annotations

from dataclasses import dataclass

from django_tracekit.conf.base import Reader

CHECK_IDS = {"ENABLED": "E019", "RETENTION_HOURS": "E042", "MAX_TRACES": "E043",
             "SAMPLE_RATE": "E044", "MAX_SPANS_PER_TRACE": "E045"}


@dataclass(frozen=True)
class TracesSettings:
    enabled: bool = True
    retention_hours: float = 72.0
    max_traces: int = 20_000
    sample_rate: float = 0.01
    max_spans_per_trace: int = 10_000


def read(r: Reader) -> TracesSettings:
    values = r.section("TRACES")
    return TracesSettings(
        enabled=r.flag(values, "ENABLED", CHECK_IDS["ENABLED"]),
        retention_hours=r.number(values, "RETENTION_HOURS", CHECK_IDS["RETENTION_HOURS"]),
        max_traces=int(r.number(values, "MAX_TRACES", CHECK_IDS["MAX_TRACES"], integer=True)),
        sample_rate=r.number(values, "SAMPLE_RATE", CHECK_IDS["SAMPLE_RATE"], high=1.0,
                             low_inclusive=True),
        max_spans_per_trace=int(r.number(values, "MAX_SPANS_PER_TRACE",
                                         CHECK_IDS["MAX_SPANS_PER_TRACE"], integer=True)),
    )
