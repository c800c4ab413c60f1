"""OTLP metrics with the real exporter to a local receiver decoding with opentelemetry-proto:
exact counts at SAMPLE_RATE 0 through gunicorn + a prefork worker, delivered by the exit
flush (the export interval is far longer than the test)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.metrics.helpers import EXPECTED, ORDER, UNSET, Stack
from tests.support.otlp_receiver import OtlpHttpReceiver, attributes

pytestmark = [pytest.mark.service("redis"),
              pytest.mark.requires("opentelemetry.exporter.otlp.proto.http")]

CALLS, DURATION = "traces.span.metrics.calls", "traces.span.metrics.duration"
# Temporality enum of the OTLP proto.
DELTA, CUMULATIVE = 1, 2


def latest(requests: list[Any]) -> dict[str, Any]:
    """Per (instance, metric, feature, status): the last data point (cumulative), and
    each process's resource."""
    points: dict[tuple[str, str, str, str], Any] = {}
    for request in requests:
        for rm in request.resource_metrics:
            resource = attributes(rm.resource.attributes)
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    data = metric.sum if metric.HasField("sum") else metric.histogram
                    for point in data.data_points:
                        a = attributes(point.attributes)
                        key = (resource["service.instance.id"], metric.name, a["span.name"],
                               a["status.code"])
                        points[key] = (resource, metric, data, a, point)
    return points


def calls(requests: list[Any]) -> Counter[tuple[str, str]]:
    total: Counter[tuple[str, str]] = Counter()
    for (_, name, feature, status), (*_, point) in latest(requests).items():
        if name == CALLS:
            total[(feature, status)] += int(point.as_int)
    return total


def test_exact_counts_over_otlp_at_exit(tmp_path: Path) -> None:
    with OtlpHttpReceiver() as receiver:
        stack = Stack(tmp_path, TK_OTLP_ENDPOINT=receiver.endpoint,
                      TK_METRICS_INTERVAL_S="3600")
        try:
            stack.traffic()
        finally:
            stack.stop()  # graceful: each process exports its counts within the exit
        counted = calls(receiver.metrics)
        assert {key: counted[key] for key in EXPECTED} == EXPECTED, stack.logs()
        assert set(receiver.metrics_paths) == {"/v1/metrics"}

        points = latest(receiver.metrics)
        resource, _, data, labels, _ = next(
            v for k, v in points.items() if k[1] == CALLS and k[2] == ORDER)
        assert data.is_monotonic and data.aggregation_temporality == CUMULATIVE
        assert labels == {"service.name": "shop-web", "span.name": ORDER,
                          "span.kind": "SPAN_KIND_SERVER", "status.code": UNSET,
                          "tracekit.feature.kind": "request"}
        assert resource["service.name"] == "shop-web"
        hist = [v for k, v in points.items() if k[1] == DURATION and k[2] == ORDER]
        assert sum(v[-1].count for v in hist) == EXPECTED[(ORDER, UNSET)]
        assert all(v[1].unit == "ms" for v in hist)
        # One series set per process: the task counts come from the prefork children only.
        workers = {r["service.instance.id"] for (r, m, *_) in points.values()
                   if r["service.name"] == "shop-worker"}
        assert 1 <= len(workers) <= 2


def test_the_temporality_preference_is_honoured(tmp_path: Path) -> None:
    with OtlpHttpReceiver() as receiver:
        stack = Stack(tmp_path, TK_OTLP_ENDPOINT=receiver.endpoint,
                      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="delta")
        try:
            stack.traffic()
            # Delta points add up to the counts: wait until they have all arrived.
            receiver.wait_metrics(lambda requests: all(
                _delta_calls(requests)[key] >= value for key, value in EXPECTED.items()))
        finally:
            stack.stop()
        assert {key: _delta_calls(receiver.metrics)[key] for key in EXPECTED} == EXPECTED


def _delta_calls(requests: list[Any]) -> Counter[tuple[str, str]]:
    total: Counter[tuple[str, str]] = Counter()
    for request in requests:
        for rm in request.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name != CALLS:
                        continue
                    assert metric.sum.aggregation_temporality == DELTA
                    for point in metric.sum.data_points:
                        a = attributes(point.attributes)
                        total[(a["span.name"], a["status.code"])] += int(point.as_int)
    return total
