"""The remote-write encoding: the Collector's prometheusremotewrite names, cumulative
buckets, a WriteRequest that decodes back to the same samples."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource

from django_tracekit.destinations.metrics import CALLS, DURATION, DURATION_BOUNDS_MS
from django_tracekit.destinations.metrics.remote_write import (
    encode_series,
    encode_write_request,
    label_name,
    metric_name,
    translate,
)


@pytest.mark.parametrize(("name", "unit", "monotonic", "expected"), [
    (CALLS, "", True, "traces_span_metrics_calls_total"),
    (DURATION, "ms", False, "traces_span_metrics_duration_milliseconds"),
    ("http.server.duration", "s", False, "http_server_duration_seconds"),
    ("queue.size", "{message}", False, "queue_size"),
    ("jobs_total", "", True, "jobs_total"),
])
def test_metric_names_follow_the_collector(name: str, unit: str, monotonic: bool,
                                           expected: str) -> None:
    assert metric_name(name, unit, monotonic) == expected


def test_label_names_are_sanitized() -> None:
    assert label_name("span.name") == "span_name"
    assert label_name("tracekit.feature.kind") == "tracekit_feature_kind"
    assert label_name("1x") == "key1x"


def _samples() -> dict[tuple[tuple[str, str], ...], float]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(
        metric_readers=[reader],
        resource=Resource.create({"service.name": "shop", "service.instance.id": "i-1",
                                  "service.version": "1.4.2"}),
        views=[View(instrument_name=DURATION,
                    aggregation=ExplicitBucketHistogramAggregation(DURATION_BOUNDS_MS))],
        shutdown_on_exit=False)
    meter = provider.get_meter("t")
    labels = {"span.name": "GET /a/", "status.code": "STATUS_CODE_UNSET"}
    meter.create_counter(CALLS).add(3, labels)
    histogram = meter.create_histogram(DURATION, unit="ms")
    for ms in (1.0, 3.0, 20_000.0):
        histogram.record(ms, labels)
    data = reader.get_metrics_data()
    assert data is not None
    return {tuple(sorted(lb)): value for lb, value, _ in translate(data)}


def test_counter_and_cumulative_histogram_samples() -> None:
    samples = _samples()
    common = (("instance", "i-1"), ("job", "shop"), ("span_name", "GET /a/"),
              ("status_code", "STATUS_CODE_UNSET"))

    def get(name: str, *extra: tuple[str, str]) -> float:
        return samples[tuple(sorted((*common, ("__name__", name), *extra)))]

    assert get("traces_span_metrics_calls_total") == 3
    bucket = "traces_span_metrics_duration_milliseconds_bucket"
    assert get(bucket, ("le", "2")) == 1
    assert get(bucket, ("le", "4")) == 2
    assert get(bucket, ("le", "15000")) == 2
    assert get(bucket, ("le", "+Inf")) == 3
    assert get("traces_span_metrics_duration_milliseconds_count") == 3
    assert get("traces_span_metrics_duration_milliseconds_sum") == 20_004
    # The resource's other attributes: one target_info series, as the Collector writes it.
    [info] = [dict(labels) for labels in samples if ("__name__", "target_info") in labels]
    assert (info["job"], info["instance"], info["service_version"]) == ("shop", "i-1", "1.4.2")
    assert info["telemetry_sdk_language"] == "python" and "service_name" not in info
    assert len(samples) == 1 + len(DURATION_BOUNDS_MS) + 1 + 2 + 1


# -- a minimal protobuf reader, to check the hand-written encoder against the schema -------
def _varint(data: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def _fields(data: bytes) -> list[tuple[int, Any]]:
    out: list[tuple[int, Any]] = []
    i = 0
    while i < len(data):
        tag, i = _varint(data, i)
        number, wire = tag >> 3, tag & 7
        if wire == 2:
            size, i = _varint(data, i)
            out.append((number, data[i:i + size]))
            i += size
        elif wire == 1:
            out.append((number, struct.unpack("<d", data[i:i + 8])[0]))
            i += 8
        else:
            value, i = _varint(data, i)
            out.append((number, value))
    return out


def test_write_request_decodes_to_sorted_labels_and_one_sample() -> None:
    series = encode_series([("job", "shop"), ("__name__", "x_total"), ("le", "+Inf")],
                           7.5, 1_700_000_000_123)
    (ts_field,) = _fields(encode_write_request([series]))
    assert ts_field[0] == 1  # WriteRequest.timeseries
    parts = _fields(ts_field[1])
    labels = [tuple(v.decode() for _, v in _fields(p)) for n, p in parts if n == 1]
    assert labels == [("__name__", "x_total"), ("job", "shop"), ("le", "+Inf")]
    (sample,) = [_fields(p) for n, p in parts if n == 2]
    assert sample == [(1, 7.5), (2, 1_700_000_000_123)]
