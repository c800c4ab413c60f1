"""The OpenTelemetry Collector configs shipped in docs/collector/, checked structurally:
no otelcol binary runs here (``otelcol-contrib validate --config`` would be the real check),
so this test holds them to the Collector's rules that a typo would break: every pipeline
names defined components of a type that supports its signal, every defined component is
used, memory_limiter first and batch last, each component's keys are ones its README
documents; and to the design: traces routed by trace id to the sampler tier's port, tail
sampling that keeps every error trace, metrics by remote-write with target_info (the
dashboard's release comparison joins it), and no spanmetrics connector."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.support.processes import REPO

CONFIGS = REPO / "docs" / "collector"
# Component type -> (signals it supports, keys its README documents) for the components
# the configs use (otelcol-contrib).
RECEIVERS = {"otlp": ({"traces", "metrics", "logs"}, {"protocols"})}
PROCESSORS = {
    "memory_limiter": ({"traces", "metrics", "logs"},
                       {"check_interval", "limit_mib", "spike_limit_mib", "limit_percentage",
                        "spike_limit_percentage"}),
    "batch": ({"traces", "metrics", "logs"},
              {"send_batch_size", "send_batch_max_size", "timeout", "metadata_keys"}),
    "tail_sampling": ({"traces"}, {"decision_wait", "num_traces", "expected_new_traces_per_sec",
                                   "policies", "decision_cache"}),
}
EXPORTERS = {
    "loadbalancing": ({"traces", "logs", "metrics"},
                      {"routing_key", "protocol", "resolver", "timeout", "retry_on_failure",
                       "sending_queue"}),
    "otlp": ({"traces", "metrics", "logs"},
             {"endpoint", "tls", "headers", "compression", "timeout", "retry_on_failure",
              "sending_queue", "balancer_name"}),
    "prometheusremotewrite": ({"metrics"},
                              {"endpoint", "tls", "headers", "namespace", "external_labels",
                               "add_metric_suffixes", "remote_write_queue",
                               "resource_to_telemetry_conversion", "target_info", "scope_info",
                               "export_created_metric", "wal", "timeout", "retry_on_failure"}),
}
KINDS = {"receivers": RECEIVERS, "processors": PROCESSORS, "exporters": EXPORTERS}
POLICY_TYPES = {"status_code", "latency", "probabilistic", "always_sample", "string_attribute",
                "numeric_attribute", "rate_limiting", "span_count", "trace_state",
                "boolean_attribute", "ottl_condition", "and", "composite", "drop"}


def load(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((CONFIGS / name).read_text()))


@pytest.mark.parametrize("name", ["gateway.yaml", "sampler.yaml"])
def test_pipelines_use_defined_components_of_the_right_signal(name: str) -> None:
    config = load(name)
    assert set(config) <= {"receivers", "processors", "exporters", "connectors", "extensions",
                           "service"}
    assert "connectors" not in config  # no spanmetrics: tracekit counts before sampling
    used: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for pipeline, parts in config["service"]["pipelines"].items():
        signal = pipeline.split("/")[0]
        for kind, known in KINDS.items():
            for component in parts.get(kind, []):
                assert component in config[kind], (pipeline, component, "not defined")
                signals, keys = known[component.split("/")[0]]
                assert signal in signals, (pipeline, component)
                assert set(config[kind][component] or {}) <= keys, (component, "unknown key")
                used[kind].add(component)
        processors = parts.get("processors", [])
        assert processors[0] == "memory_limiter" and processors[-1] == "batch", pipeline
    for kind in KINDS:
        assert used[kind] == set(config.get(kind) or {}), (kind, "defined but unused")


def test_traces_reach_the_sampler_tier_by_trace_id() -> None:
    gateway, sampler = load("gateway.yaml"), load("sampler.yaml")
    assert gateway["service"]["pipelines"]["traces"]["exporters"] == ["loadbalancing"]
    balancer = gateway["exporters"]["loadbalancing"]
    assert balancer["routing_key"] == "traceID"
    assert set(balancer["protocol"]) == {"otlp"}  # the only protocol it speaks
    [(resolver, settings)] = balancer["resolver"].items()  # exactly one resolver
    assert resolver in {"static", "dns", "k8s", "aws_cloud_map"}
    grpc = sampler["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    assert int(settings["port"]) == int(grpc.rsplit(":", 1)[1])
    # tracekit sends over OTLP http (4318) or grpc (4317): the gateway takes both.
    assert set(gateway["receivers"]["otlp"]["protocols"]) == {"grpc", "http"}


def test_tail_sampling_keeps_every_error_trace() -> None:
    sampler = load("sampler.yaml")
    traces = sampler["service"]["pipelines"]["traces"]["processors"]
    assert traces.index("tail_sampling") < traces.index("batch")
    policies = sampler["processors"]["tail_sampling"]["policies"]
    for policy in policies:
        assert policy["type"] in POLICY_TYPES and policy["type"] in policy, policy
    assert {"name": "errors", "type": "status_code",
            "status_code": {"status_codes": ["ERROR"]}} in policies
    assert [e.split("/")[0] for e in sampler["service"]["pipelines"]["traces"]["exporters"]] == [
        "otlp"]  # Tempo and Jaeger both take OTLP


def test_metrics_go_by_remote_write_with_target_info() -> None:
    gateway = load("gateway.yaml")
    assert gateway["service"]["pipelines"]["metrics"]["exporters"] == ["prometheusremotewrite"]
    remote_write = gateway["exporters"]["prometheusremotewrite"]
    assert remote_write["target_info"] == {"enabled": True}
    assert remote_write["resource_to_telemetry_conversion"] == {"enabled": False}
    assert remote_write["endpoint"].startswith("http")
    # The names the dashboard queries come from these defaults: suffixes on.
    assert remote_write.get("add_metric_suffixes", True) is True


def test_the_configs_are_where_the_docs_say() -> None:
    scale = (REPO / "docs" / "SCALE.md").read_text()
    for path in ("docs/collector/gateway.yaml", "docs/collector/sampler.yaml",
                 "docs/grafana/tracekit-dashboard.json"):
        assert path in scale and (REPO / path).is_file(), path
