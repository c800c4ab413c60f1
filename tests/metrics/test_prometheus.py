"""End to end on a real engine: gunicorn (2 workers) + a prefork Celery worker push their
per-feature metrics by remote-write into Debian's Prometheus; PromQL returns the exact
counts per feature although SAMPLE_RATE is 0."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.metrics.helpers import CHARGE, ENCODE, EXPECTED, ORDER, Stack
from tests.support.prometheus import PrometheusServer, Result

pytestmark = [pytest.mark.service("prometheus", "redis"), pytest.mark.requires("cramjam")]

CALLS = "sum by (span_name, status_code) (traces_span_metrics_calls_total)"


def _counts(result: Result) -> dict[tuple[str, str], float]:
    return {(r["metric"]["span_name"], r["metric"]["status_code"]): float(r["value"][1])
            for r in result}


def _has_expected(result: Result) -> bool:
    counts = _counts(result)
    return all(counts.get(key) == value for key, value in EXPECTED.items())


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[PrometheusServer]:
    with PrometheusServer(tmp_path) as server:
        yield server


def test_promql_returns_exact_counts_per_feature(prometheus: PrometheusServer,
                                                 tmp_path: Path) -> None:
    stack = Stack(tmp_path, TK_METRICS_EXPORTER="prometheus_remote_write",
                  TK_METRICS_URL=prometheus.remote_write_url)
    try:
        stack.traffic()
        try:
            result = prometheus.wait_for(CALLS, _has_expected)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{stack.logs()}") from None
    finally:
        stack.stop()
    counts = _counts(result)
    for key, value in EXPECTED.items():
        assert counts[key] == value, key

    # The histogram: _count equals the calls, the p95 is a duration, the labels are the
    # Collector's (job = service.name, instance = service.instance.id, one per process).
    durations = prometheus.query(
        "sum by (span_name) (traces_span_metrics_duration_milliseconds_count)")
    by_feature = {r["metric"]["span_name"]: float(r["value"][1]) for r in durations}
    assert by_feature[ENCODE] == 6 and by_feature[CHARGE] == 2 and by_feature[ORDER] == 8
    p95 = prometheus.query(
        "histogram_quantile(0.95, sum by (le, span_name) "
        f"(traces_span_metrics_duration_milliseconds_bucket{{span_name='{ENCODE}'}}))")
    assert 0 < float(p95[0]["value"][1]) <= 15_000
    charged = prometheus.query(f"traces_span_metrics_calls_total{{span_name='{CHARGE}'}}")
    assert 1 <= len(charged) <= 2  # one series per prefork child that ran one
    for series in charged:
        labels = series["metric"]
        assert labels["job"] == "shop-worker" and labels["service_name"] == "shop-worker"
        assert labels["span_kind"] == "SPAN_KIND_CONSUMER"
        assert labels["status_code"] == "STATUS_CODE_ERROR"
        assert labels["tracekit_feature_kind"] == "task"
        assert len(labels["instance"]) == 36  # the child's own service.instance.id
    # Two gunicorn workers served the requests: each is its own series set, summed above.
    web = prometheus.query("count by (instance) (traces_span_metrics_calls_total{job='shop-web'})")
    assert 1 <= len(web) <= 2
