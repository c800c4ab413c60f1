"""The Grafana dashboard shipped in docs/grafana/ against a real Prometheus: two releases of
the gunicorn + prefork Celery stack send known traffic by remote-write, then every panel's
PromQL (Grafana's variables filled in as Grafana fills them for "All") parses and returns
the series it is meant to show: calls, errors, error ratio and p95 per feature, and the
release comparison by service.version (joined from target_info)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.metrics.helpers import CHARGE, ENCODE, EXPECTED, ORDER, UNMATCHED, Stack
from tests.support.processes import REPO
from tests.support.prometheus import PrometheusServer, Result

pytestmark = [pytest.mark.service("prometheus", "redis"), pytest.mark.requires("cramjam")]

DASHBOARD = REPO / "docs" / "grafana" / "tracekit-dashboard.json"
FEATURES = {ORDER, UNMATCHED, ENCODE, CHARGE}
RELEASES = ("1.0.0", "2.0.0")
# Grafana's values for "All" (allValue) and its interval variables; the windows reach back
# over both releases' traffic (each release's processes stop before the next one starts).
VARIABLES = {"$__rate_interval": "10m", "$__range": "10m", "$service": ".*", "$kind": ".*",
             "$feature": ".*", "$release": ".*"}


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def panels() -> dict[str, list[str]]:
    """Panel title -> its queries with the variables filled in."""
    found: dict[str, list[str]] = {}
    for panel in dashboard()["panels"]:
        if panel["type"] == "row":
            continue
        queries = []
        for target in panel["targets"]:
            expr = target["expr"]
            for name in sorted(VARIABLES, key=len, reverse=True):
                expr = expr.replace(name, VARIABLES[name])
            assert "$" not in expr, f"{panel['title']}: unknown variable in {expr}"
            queries.append(expr)
        found[panel["title"]] = queries
    return found


def test_every_variable_a_panel_uses_is_defined_and_every_query_is_named() -> None:
    board = dashboard()
    defined = {f"${v['name']}" for v in board["templating"]["list"]}
    assert defined == {"$datasource", "$service", "$kind", "$feature", "$release"}
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}"
            used = set(re.findall(r"\$\w+", target["expr"])) - {"$__rate_interval", "$__range"}
            assert used <= defined, (panel["title"], used)
    assert len(panels()) == 8


def _by(result: Result, *labels: str) -> dict[tuple[str, ...], float]:
    return {tuple(r["metric"].get(label, "") for label in labels): float(r["value"][1])
            for r in result}


def _release_counts(release: str) -> str:
    """Calls per (feature, status) of one release's processes, joined from target_info."""
    return ("sum by (span_name, status_code) (traces_span_metrics_calls_total * on (job, "
            f"instance) group_left (service_version) target_info{{service_version='{release}'}})")


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """Prometheus after two releases' known traffic, each sent in two rounds (a rate needs a
    counter that grew after its first sample)."""
    tmp = tmp_path_factory.mktemp("dashboard")
    with PrometheusServer(tmp) as server:
        for release in RELEASES:
            (tmp / release).mkdir()
            stack = Stack(tmp / release, TK_METRICS_EXPORTER="prometheus_remote_write",
                          TK_METRICS_URL=server.remote_write_url, TK_SERVICE_VERSION=release)
            try:
                for rounds in (1, 2):
                    stack.traffic()
                    try:
                        server.wait_for(_release_counts(release), lambda result, n=rounds: all(
                            _by(result, "span_name", "status_code").get(key) == n * value
                            for key, value in EXPECTED.items()))
                    except AssertionError as exc:
                        raise AssertionError(f"{exc}\n{stack.logs()}") from None
            finally:
                stack.stop()
        yield server


def test_per_feature_panels(prometheus: PrometheusServer) -> None:
    queries = panels()
    [calls] = queries["Calls per second"]
    rates = _by(prometheus.query(calls), "span_name")
    assert {name for (name,) in rates} >= FEATURES
    assert all(rates[(name,)] > 0 for name in FEATURES)

    [errors] = queries["Errors per second"]
    assert set(_by(prometheus.query(errors), "span_name")) == {(CHARGE,)}

    [ratio] = queries["Error ratio"]
    ratios = _by(prometheus.query(ratio), "span_name")
    assert ratios[(CHARGE,)] == 1.0  # every charge fails
    assert ratios[(ORDER,)] == ratios[(ENCODE,)] == ratios[(UNMATCHED,)] == 0.0

    [p95] = queries["p95 duration"]
    durations = _by(prometheus.query(p95), "span_name")
    for name in FEATURES:
        assert 0 < durations[(name,)] <= 15_000, (name, durations[(name,)])

    table = [_by(prometheus.query(q), "span_name") for q in queries[
        "Features over the selected range"]]
    calls_in_range, errors_in_range, p95_in_range = table
    for name in FEATURES:
        assert calls_in_range[(name,)] > 0
        assert errors_in_range[(name,)] == (calls_in_range[(name,)] if name == CHARGE else 0)
        assert 0 < p95_in_range[(name,)] <= 15_000


def test_release_comparison_panels(prometheus: PrometheusServer) -> None:
    queries = panels()
    [calls] = queries["Calls per second by release"]
    assert set(_by(prometheus.query(calls), "service_version")) == {(r,) for r in RELEASES}
    [p95] = queries["p95 duration by release"]
    by_release = _by(prometheus.query(p95), "service_version")
    assert set(by_release) == {(r,) for r in RELEASES}
    assert all(0 < v <= 15_000 and not math.isnan(v) for v in by_release.values())

    calls_q, ratio_q, p95_q = queries["Features by release over the selected range"]
    rows = _by(prometheus.query(calls_q), "span_name", "service_version")
    assert {(f, r) for f in FEATURES for r in RELEASES} <= set(rows)
    ratios = _by(prometheus.query(ratio_q), "span_name", "service_version")
    for release in RELEASES:
        assert ratios[(CHARGE, release)] == 1.0
        assert ratios[(ORDER, release)] == 0.0
    p95s = _by(prometheus.query(p95_q), "span_name", "service_version")
    assert all(0 < p95s[(f, r)] <= 15_000 for f in FEATURES for r in RELEASES)
