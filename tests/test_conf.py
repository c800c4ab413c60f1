"""Settings resolution: defaults, env merging, precedence, caching and reset."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.test import override_settings

import django_tracekit
from django_tracekit.conf import Config, StatsSettings, get_config, parse_otlp_headers, resolve


def ids(config: Config) -> list[str]:
    return [p.id for p in config.problems]


def test_defaults_without_settings_or_env() -> None:
    config = resolve(None, {})
    assert config.enabled is True
    assert config.project_name == "tests"  # top package of tests.settings.ROOT_URLCONF
    assert config.service_name == "tests"
    assert config.exporters == ("none",)  # no endpoint configured: nothing to wait on
    assert config.exporter_explicit is False
    assert config.otlp_protocol == "http/protobuf"
    assert config.otlp_endpoint == "http://localhost:4318/v1/traces"
    assert config.sample_rate == 1.0
    assert config.stats.flush_interval_s == 10
    assert config.autotrace.min_duration_ms == 1.0
    assert config.sentry_dsn is None
    assert config.capture_locals is False
    assert config.problems == ()


def test_env_fills_what_settings_leave_out() -> None:
    env = {
        "OTEL_SERVICE_NAME": "shop-web",
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
        "OTEL_EXPORTER_OTLP_HEADERS": "api-key=abc%3D,X-Team=core",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.25",
        "SENTRY_DSN": "https://key@sentry.example/1",
    }
    config = resolve({}, env)
    assert config.service_name == "shop-web"
    assert config.exporters == ("console",)
    assert config.otlp_endpoint == "http://collector:4318/v1/traces"
    assert config.otlp_headers == {"api-key": "abc=", "x-team": "core"}
    assert config.sample_rate == 0.25
    assert config.sentry_dsn == "https://key@sentry.example/1"
    assert config.problems == ()


def test_explicit_settings_win_over_env() -> None:
    env = {
        "OTEL_SERVICE_NAME": "from-env",
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318",
        "OTEL_TRACES_SAMPLER": "always_off",
        "SENTRY_DSN": "https://key@env.example/1",
    }
    config = resolve({
        "SERVICE_NAME": "from-settings",
        "EXPORTER": "otlp",
        "OTLP_ENDPOINT": "http://settings:4318",
        "SAMPLE_RATE": 0.5,
        "SENTRY": {"DSN": "https://key@settings.example/2"},
    }, env)
    assert config.service_name == "from-settings"
    assert config.exporters == ("otlp",)
    assert config.otlp_endpoint == "http://settings:4318/v1/traces"
    assert config.sample_rate == 0.5
    assert config.sentry_dsn == "https://key@settings.example/2"


def test_traces_endpoint_env_is_used_as_is_and_grpc_gets_no_path() -> None:
    config = resolve({}, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/custom",
                          "OTEL_EXPORTER_OTLP_ENDPOINT": "http://ignored:4318"})
    assert config.otlp_endpoint == "http://c:4318/custom"
    grpc = resolve({}, {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    assert (grpc.otlp_protocol, grpc.otlp_endpoint) == ("grpc", "http://localhost:4317")


@pytest.mark.parametrize(("sampler", "arg", "rate"), [
    ("always_on", None, 1.0), ("always_off", None, 0.0), ("traceidratio", "0.1", 0.1),
    ("parentbased_always_off", None, 0.0),
])
def test_sampler_env(sampler: str, arg: str | None, rate: float) -> None:
    env = {"OTEL_TRACES_SAMPLER": sampler}
    if arg:
        env["OTEL_TRACES_SAMPLER_ARG"] = arg
    assert resolve({}, env).sample_rate == rate


def test_otel_sdk_disabled_turns_tracing_off_unless_enabled_explicitly() -> None:
    assert resolve({}, {"OTEL_SDK_DISABLED": "true"}).enabled is False
    assert resolve({"ENABLED": True}, {"OTEL_SDK_DISABLED": "true"}).enabled is True


def test_service_name_from_resource_attributes_env() -> None:
    config = resolve({}, {"OTEL_RESOURCE_ATTRIBUTES": "service.name=billing,team=x"})
    assert (config.service_name, config.service_name_explicit) == ("billing", False)


def test_service_version_from_resource_attributes_env() -> None:
    # The README's settings table: OTEL_RESOURCE_ATTRIBUTES sets service.version; it was read
    # for service.name only, so a deploy's version (wger 2.4.1) was recorded as the
    # distribution's 2.4.0 and the release comparison had one version.
    env = {"OTEL_RESOURCE_ATTRIBUTES": "team=x,service.version=2.4.1"}
    assert resolve({}, env).service_version == "2.4.1"
    assert resolve({"SERVICE_VERSION": "9.9"}, env).service_version == "9.9"  # explicit wins


def test_nested_sections_merge_with_defaults() -> None:
    config = resolve({"STATS": {"RETENTION_DAYS": 30}}, {})
    assert config.stats == StatsSettings(enabled=True, flush_interval_s=10, retention_days=30,
                                         database="default")


def test_parse_otlp_headers_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="no '='"):
        parse_otlp_headers("novalue")


def test_config_is_cached_and_reset_when_settings_change() -> None:
    first = get_config()
    assert get_config() is first
    with override_settings(TRACEKIT={"PROJECT_NAME": "shop"}):
        assert get_config().project_name == "shop"
    assert get_config().project_name == "tests"
    assert get_config() is not first  # rebuilt after the override was undone


def test_invalid_values_become_problems_not_exceptions() -> None:
    config = resolve({"SAMPLE_RATE": "half", "EXPORTER": "jaeger", "BOGUS": 1}, {})
    assert sorted(ids(config)) == ["E003", "E004", "W001"]
    assert config.sample_rate == 1.0 and config.exporters == ("none",)


@pytest.mark.parametrize("env", [
    {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
    {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"},
])
def test_otlp_is_the_default_only_when_an_endpoint_is_configured(env: dict[str, str]) -> None:
    assert resolve({}, env).exporters == ("otlp",)
    from_settings = resolve({"OTLP_ENDPOINT": "http://collector:4318"}, {})
    assert (from_settings.exporters, from_settings.exporter_explicit) == (("otlp",), False)
    assert resolve({"OTLP_ENDPOINT": None}, {}).exporters == ("none",)
    assert resolve({"EXPORTER": None}, env).exporters == ("otlp",)  # None = the default


def test_traces_exporter_env_and_explicit_exporter_win_over_the_endpoint_default() -> None:
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}
    assert resolve({}, {**endpoint, "OTEL_TRACES_EXPORTER": "none"}).exporters == ("none",)
    assert resolve({"EXPORTER": "console"}, endpoint).exporters == ("console",)
    explicit = resolve({"EXPORTER": "otlp"}, {})  # explicit, no endpoint: localhost
    assert explicit.exporters == ("otlp",) and explicit.exporter_explicit
    assert explicit.otlp_endpoint == "http://localhost:4318/v1/traces"


def test_project_name_is_the_urlconf_package_not_the_checkout_folder() -> None:
    names = set()
    for base_dir in ("/srv/healthchecks", "/srv/hc", "/app"):
        with override_settings(BASE_DIR=base_dir, ROOT_URLCONF="hc.urls"):
            names.add(resolve({}, {}).project_name)
    assert names == {"hc"}


def test_project_name_falls_back_to_base_dir_then_warns() -> None:
    with override_settings(ROOT_URLCONF=None, BASE_DIR="/srv/shop"):
        assert resolve({}, {}).project_name == "shop"
    with override_settings(ROOT_URLCONF=None, BASE_DIR=None):
        config = resolve({}, {})
    assert config.project_name == "" and ids(config) == ["W003"]
    assert "no ROOT_URLCONF or BASE_DIR" in config.problems[0].message


def test_stats_database_is_an_alias_name() -> None:
    assert resolve({}, {}).stats.database == "default"
    assert resolve({"STATS": {"DATABASE": "tracekit"}}, {}).stats.database == "tracekit"
    for wrong in (3, "", ["default"]):
        config = resolve({"STATS": {"DATABASE": wrong}}, {})
        assert config.stats.database == "default" and ids(config) == ["E037"]


def test_stats_kinds_default_to_every_kind_and_are_validated() -> None:
    assert resolve({}, {}).stats.kinds == ("request", "task", "command", "function")
    assert resolve({"STATS": {"KINDS": ("request", "task")}}, {}).stats.kinds == (
        "request", "task")
    for wrong in ("request", [], ["request", "view"], [1]):
        config = resolve({"STATS": {"KINDS": wrong}}, {})
        assert ids(config) == ["E053"], wrong
        assert config.stats.kinds == ("request", "task", "command", "function")
    (problem,) = resolve({"STATS": {"KINDS": ["views"]}}, {}).problems
    message = problem.check_message()
    assert message.id == "django_tracekit.E053"
    assert "TRACEKIT['STATS']['KINDS']" in message.msg and "function" in message.msg


def test_a_section_that_is_not_a_dict_keeps_its_defaults() -> None:
    config = resolve({"DB": 5}, {})
    assert ids(config) == ["E002"] and config.db.n_plus_one == 5


def _imported_rooms(folder: str) -> set[str]:
    """The ``django_tracekit`` rooms the modules of ``folder`` import (function-level and
    TYPE_CHECKING imports included)."""
    root = Path(django_tracekit.__file__).resolve().parent
    rooms = set()
    for path in (root / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            rooms |= {n.split(".")[1] for n in names if n.startswith("django_tracekit.")}
    return rooms - {folder}


def test_conf_stands_on_the_core_which_never_imports_it() -> None:
    assert _imported_rooms("conf") <= {"core"}
    assert "conf" not in _imported_rooms("core")
