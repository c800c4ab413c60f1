"""Settings: one defaults dict, merged with ``OTEL_*``/``SENTRY_*`` env, validated, cached.

Precedence for every key: explicit ``settings.TRACEKIT`` value > environment > default.
Resolution never raises: every problem becomes a :class:`Problem` that ``checks.py`` turns
into a system check message, and the bootstrap refuses to start tracing while any
error-level problem exists (the application itself keeps running).
"""

from __future__ import annotations

import difflib
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from django.conf import settings as django_settings
from django.core.checks import CheckMessage, Error, Warning
from django.core.signals import setting_changed
from django.dispatch import receiver

from django_tracekit.core import project
from django_tracekit.destinations.metrics.settings import MetricsSettings, resolve_metrics

DEFAULTS: dict[str, Any] = {
    # Master switch. Default: on, unless OTEL_SDK_DISABLED=true.
    "ENABLED": True,
    # First segment of every code-location name. Default: the top package of the first
    # INSTALLED_APPS entry under BASE_DIR, else of ROOT_URLCONF, else the name of BASE_DIR
    # (the same in web and worker processes, in every checkout; see project.py).
    "PROJECT_NAME": None,
    # resource service.name. Default: OTEL_SERVICE_NAME, else PROJECT_NAME (in a Celery
    # worker process PROJECT_NAME + "-worker").
    "SERVICE_NAME": None,
    # resource service.version. Default: the installed distribution named PROJECT_NAME, the
    # one providing that package, its __version__, else the git commit of BASE_DIR.
    "SERVICE_VERSION": None,
    # resource deployment.environment(.name). Default: none.
    "ENVIRONMENT": None,
    # "otlp" | "console" | "none" | dotted path to a factory returning a SpanExporter or
    # SpanProcessor; a list of these for several. Default: OTEL_TRACES_EXPORTER, else "otlp"
    # when an OTLP endpoint is configured (OTLP_ENDPOINT or the env below), else "none":
    # spans stay local (stats) and no process waits on a collector nobody runs.
    "EXPORTER": None,
    # Default: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT, else
    # localhost (used only when EXPORTER is "otlp" explicitly).
    "OTLP_ENDPOINT": None,
    # "http/protobuf" | "grpc". Default: OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL, else http.
    "OTLP_PROTOCOL": "http/protobuf",
    # Extra headers (auth tokens). Default: OTEL_EXPORTER_OTLP_(TRACES_)HEADERS.
    "OTLP_HEADERS": {},
    # Parent-based trace-id ratio. Default: OTEL_TRACES_SAMPLER(_ARG), else 1.0.
    "SAMPLE_RATE": 1.0,
    "AUTOTRACE": {"INCLUDE": None, "EXCLUDE": [], "MIN_DURATION_MS": 1.0},
    "STATS": {"ENABLED": True, "FLUSH_INTERVAL_S": 10, "RETENTION_DAYS": 90},
    "SENTRY": {"DSN": None, "ENVIRONMENT": None},
    # Regexes matched (re.search) against request.path; matching requests are not traced.
    "EXCLUDED_URLS": [],
    # The error convention's caps. CAPTURE_LOCALS adds (redacted, truncated) local values.
    "ERRORS": {"MAX_FRAMES": 128, "MAX_LENGTH": 32_768, "CAPTURE_LOCALS": False},
    # Celery integration. Task arguments are never captured (PII); ARGS_SUMMARY adds only
    # their count, types and keyword names (never values) to the task's span.
    "CELERY": {"ARGS_SUMMARY": False},
    # Link trace ids in the admin to a trace viewer: "https://jaeger/trace/{trace_id}".
    "TRACE_URL": None,
    # The admin's local trace store: traces kept after they end (every error trace, the
    # slowest of each feature, a deterministic SAMPLE_RATE of trace ids), capped in hours,
    # traces and spans per trace. Independent of the export SAMPLE_RATE.
    "TRACES": {"ENABLED": True, "RETENTION_HOURS": 72, "MAX_TRACES": 20_000,
               "SAMPLE_RATE": 0.01, "MAX_SPANS_PER_TRACE": 10_000},
    # SQL queries as CLIENT spans on every database alias; a parent span that runs the same
    # statement N_PLUS_ONE times or more gets a ``tracekit.n_plus_one`` event.
    "DB": {"ENABLED": True, "N_PLUS_ONE": 5},
    # Django cache calls as spans.
    "CACHE": {"ENABLED": True},
    # Outgoing HTTP (requests, httpx, urllib3, urllib) via the contrib instrumentors
    # (``pip install 'django-tracekit[http]'``), with W3C propagation.
    "HTTP_CLIENT": {"ENABLED": True},
    # Log records at/above LEVEL become events of the current span; None: off.
    "LOGS": {"LEVEL": "INFO"},
    # ``manage.py <command>`` as a root span (never runserver, shell, ... or EXCLUDE).
    "COMMANDS": {"ENABLED": True, "EXCLUDE": []},
    # Per-feature metrics counted before sampling (django_tracekit.destinations.metrics,
    # docs/metrics.md).
    # EXPORTER: "otlp" (the traces endpoint's base; OTEL_EXPORTER_OTLP_METRICS_* honoured) or
    # "prometheus_remote_write" with REMOTE_WRITE_URL.
    "METRICS": {"ENABLED": False, "EXPORT_INTERVAL_S": 60, "KINDS": ["request", "task", "command"],
                "EXPORTER": "otlp", "REMOTE_WRITE_URL": None},
}

EXPORTER_NAMES = ("otlp", "console", "none")
OTLP_PROTOCOLS = ("http/protobuf", "grpc")
_OTLP_DEFAULT_ENDPOINTS = {"http/protobuf": "http://localhost:4318", "grpc": "http://localhost:4317"}
_SAMPLERS_WITH_RATIO = ("traceidratio", "parentbased_traceidratio")
_SAMPLERS_FIXED = {
    "always_on": 1.0,
    "parentbased_always_on": 1.0,
    "always_off": 0.0,
    "parentbased_always_off": 0.0,
}
_DOTTED_PATH = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$")
_PROJECT_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


@dataclass(frozen=True)
class Problem:
    """One invalid or suspicious setting, reported by ``checks.py``."""

    id: str  # "E004" / "W002"; checks.py prefixes "django_tracekit."
    key: str  # "TRACEKIT['SAMPLE_RATE']" or "OTEL_TRACES_SAMPLER_ARG"
    message: str
    hint: str

    @property
    def is_error(self) -> bool:
        return self.id.startswith("E")

    def check_message(self) -> CheckMessage:
        """This problem as a system check message, ``django_tracekit.E0xx``/``W0xx``."""
        level = Error if self.is_error else Warning
        return level(f"{self.key} {self.message}", hint=self.hint,
                     id=f"django_tracekit.{self.id}")


@dataclass(frozen=True)
class AutotraceSettings:
    """``TRACEKIT['AUTOTRACE']``, validated."""

    include: tuple[str, ...] | None  # None: the modules under BASE_DIR; (): off
    exclude: tuple[str, ...]
    min_duration_ms: float


@dataclass(frozen=True)
class StatsSettings:
    """``TRACEKIT['STATS']``, validated."""

    enabled: bool
    flush_interval_s: float
    retention_days: float


@dataclass(frozen=True)
class CelerySettings:
    """``TRACEKIT['CELERY']``, validated."""

    args_summary: bool


@dataclass(frozen=True)
class TracesSettings:
    """``TRACEKIT['TRACES']``, validated: the admin's trace store."""

    enabled: bool = True
    retention_hours: float = 72.0
    max_traces: int = 20_000
    sample_rate: float = 0.01
    max_spans_per_trace: int = 10_000


@dataclass(frozen=True)
class DbSettings:
    """``TRACEKIT['DB']``, validated."""

    enabled: bool = True
    n_plus_one: int = 5


@dataclass(frozen=True)
class LogsSettings:
    """``TRACEKIT['LOGS']``, validated; ``level`` is a ``logging`` level number, or
    ``None`` when log records do not become span events."""

    level: int | None = 20


@dataclass(frozen=True)
class CommandsSettings:
    """``TRACEKIT['COMMANDS']``, validated."""

    enabled: bool = True
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    """The resolved, validated settings. Built once and cached (see :func:`get_config`)."""

    enabled: bool
    project_name: str
    service_name: str
    service_name_explicit: bool  # set in TRACEKIT or OTEL_SERVICE_NAME, not derived
    service_version: str | None
    environment: str | None
    exporters: tuple[str, ...]
    exporter_explicit: bool  # set in TRACEKIT or OTEL_TRACES_EXPORTER, not the default
    otlp_endpoint: str
    otlp_protocol: Literal["http/protobuf", "grpc"]
    otlp_headers: Mapping[str, str]
    sample_rate: float
    autotrace: AutotraceSettings
    stats: StatsSettings
    sentry_dsn: str | None
    sentry_environment: str | None
    excluded_urls: tuple[re.Pattern[str], ...]
    max_frames: int
    max_length: int
    capture_locals: bool
    problems: tuple[Problem, ...] = field(default=())
    trace_url: str | None = None
    celery: CelerySettings = field(default_factory=lambda: CelerySettings(args_summary=False))
    traces: TracesSettings = field(default_factory=TracesSettings)
    db: DbSettings = field(default_factory=DbSettings)
    cache_enabled: bool = True
    http_client_enabled: bool = True
    logs: LogsSettings = field(default_factory=LogsSettings)
    commands: CommandsSettings = field(default_factory=CommandsSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)


class _Resolver:
    """Collects problems while turning raw settings + env into a :class:`Config`."""

    def __init__(self, raw: Any, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[Problem] = []
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            self.report("E001", "TRACEKIT", f"must be a dict, got {type(raw).__name__}.",
                       "Set TRACEKIT = {...} in your settings, or remove it to use defaults.")
            raw = {}
        self.raw: Mapping[str, Any] = raw
        self._warn_unknown_keys(raw, DEFAULTS, "TRACEKIT")

    # -- reporting -------------------------------------------------------------------------
    def report(self, id: str, key: str, message: str, hint: str) -> None:
        """Record a problem; its id's letter (E/W) carries the level."""
        self.problems.append(Problem(id, key, message, hint))

    def _warn_unknown_keys(self, given: Mapping[str, Any], known: Mapping[str, Any],
                           where: str) -> None:
        for key in given:
            if key not in known:
                close = difflib.get_close_matches(str(key), list(known), n=1)
                hint = f"Did you mean '{close[0]}'?" if close else (
                    f"Known keys: {', '.join(sorted(known))}.")
                self.report("W001", f"{where}[{key!r}]", "is not a known setting; it is ignored.",
                             hint)

    # -- typed access ----------------------------------------------------------------------
    def explicit(self, key: str) -> bool:
        return key in self.raw

    def typed(self, key: str, types: type | tuple[type, ...], default: Any,
              source: Mapping[str, Any] | None = None, where: str = "TRACEKIT") -> Any:
        mapping = self.raw if source is None else source
        if key not in mapping:
            return default
        value = mapping[key]
        if value is None and default is None:
            return None
        if isinstance(value, bool) and bool not in _as_tuple(types):
            ok = False  # bool is an int subclass; True is not a sample rate.
        else:
            ok = isinstance(value, types)
        if not ok:
            names = " or ".join(t.__name__ for t in _as_tuple(types))
            self.report("E002", f"{where}[{key!r}]",
                       f"must be {names}, got {type(value).__name__} ({value!r}).",
                       f"Use a {names} value, or remove the key to use the default.")
            return default
        return value

    def section(self, key: str) -> dict[str, Any]:
        defaults: dict[str, Any] = DEFAULTS[key]
        value = self.typed(key, Mapping, {})
        self._warn_unknown_keys(value, defaults, f"TRACEKIT[{key!r}]")
        merged = dict(defaults)
        merged.update(value)
        return merged


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _env_flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _service_version(project_name: str) -> str | None:
    # Distribution, providing distribution, __version__, settings.VERSION, VERSION file,
    # git commit: see core/versions.py.
    from django_tracekit.core.versions import detect

    base_dir = getattr(django_settings, "BASE_DIR", None)
    return detect(project_name, str(base_dir) if base_dir else None).value


def _resource_attribute(env: Mapping[str, str], key: str) -> str | None:
    for item in env.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        name, _, value = item.partition("=")
        if name.strip() == key and value.strip():
            return unquote(value.strip())
    return None


def parse_otlp_headers(text: str) -> dict[str, str]:
    """Parse the ``OTEL_EXPORTER_OTLP_HEADERS`` format: ``k1=v1,k2=v2`` (URL-encoded)."""
    headers: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        if "=" not in item:
            raise ValueError(f"header {item.strip()!r} has no '='")
        name, _, value = item.partition("=")
        headers[unquote(name.strip()).lower()] = unquote(value.strip())
    return headers


def _valid_url(url: str, schemes: tuple[str, ...] = ("http", "https")) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in schemes and bool(parts.hostname) and (parts.port or 1) > 0
    except ValueError:
        return False


def traces_endpoint(base: str, protocol: str) -> str:
    """OTLP/HTTP wants the full ``/v1/traces`` URL; a bare base URL gets it appended."""
    if protocol != "http/protobuf":
        return base
    path = urlsplit(base).path
    if path in ("", "/"):
        return base.rstrip("/") + "/v1/traces"
    return base


def resolve(raw: Any, env: Mapping[str, str]) -> Config:
    """Build a :class:`Config` from a raw ``TRACEKIT`` value and an environment mapping."""
    r = _Resolver(raw, env)

    enabled = r.typed("ENABLED", bool, not _env_flag(env, "OTEL_SDK_DISABLED"))

    project_name = r.typed("PROJECT_NAME", str, None) or project.default_project_name()
    if project_name and not _PROJECT_NAME.match(project_name):
        r.report("E010", "TRACEKIT['PROJECT_NAME']",
                f"{project_name!r} contains characters that break code-location names.",
                "Use letters, digits, '_', '-' or '.', e.g. 'shop'.")
        project_name = project.default_project_name()
    if not project_name:
        r.report("W003", "TRACEKIT['PROJECT_NAME']",
                  "could not be derived (no ROOT_URLCONF or BASE_DIR); names have no project "
                  "prefix.", "Set TRACEKIT['PROJECT_NAME'] = 'yourproject'.")

    explicit_service = r.typed("SERVICE_NAME", str, None) or env.get("OTEL_SERVICE_NAME")
    derived_service = (f"{project_name}-worker" if project_name
                       and project.celery_worker_process() else project_name)
    service_name = (explicit_service or _resource_attribute(env, "service.name")
                    or derived_service or "unknown_service")
    service_version = r.typed("SERVICE_VERSION", str, None) or _service_version(project_name)
    environment = r.typed("ENVIRONMENT", str, None)

    protocol = _resolve_protocol(r)
    endpoint = _resolve_endpoint(r, protocol)
    exporters = _resolve_exporters(r, endpoint_configured=_endpoint_configured(r))
    headers = _resolve_headers(r)
    sample_rate = _resolve_sample_rate(r)

    autotrace = r.section("AUTOTRACE")
    _check_autotrace(r, autotrace)
    stats = r.section("STATS")
    _check_stats(r, stats)
    sentry = r.section("SENTRY")
    sentry_dsn = sentry.get("DSN") or env.get("SENTRY_DSN") or None
    if sentry_dsn is not None and (not isinstance(sentry_dsn, str) or not _valid_url(sentry_dsn)
                                   or not urlsplit(sentry_dsn).username):
        r.report("E013", "TRACEKIT['SENTRY']['DSN']" if sentry.get("DSN") else "SENTRY_DSN",
                f"{sentry_dsn!r} is not a Sentry DSN.",
                "Copy the DSN from Sentry's project settings: https://<key>@<host>/<project>.")
        sentry_dsn = None
    sentry_environment = (sentry.get("ENVIRONMENT") or env.get("SENTRY_ENVIRONMENT")
                          or environment)

    excluded = _resolve_excluded_urls(r)
    errors = r.section("ERRORS")
    max_frames = _positive_int(r, errors, "MAX_FRAMES", "ERRORS")
    max_length = _positive_int(r, errors, "MAX_LENGTH", "ERRORS")
    capture_locals = r.typed("CAPTURE_LOCALS", bool, False, errors, "TRACEKIT['ERRORS']")
    trace_url = r.typed("TRACE_URL", str, None)
    if trace_url is not None and ("{trace_id}" not in trace_url or not _valid_url(trace_url)):
        r.report("E016", "TRACEKIT['TRACE_URL']",
                f"{trace_url!r} is not an http(s) URL containing '{{trace_id}}'.",
                "Use e.g. 'https://jaeger.example.com/trace/{trace_id}'.")
        trace_url = None
    celery = r.section("CELERY")
    if not isinstance(celery["ARGS_SUMMARY"], bool):
        r.report("E015", "TRACEKIT['CELERY']['ARGS_SUMMARY']",
                f"must be True or False, got {celery['ARGS_SUMMARY']!r}.",
                "Use True to add argument types (never values) to task spans.")
        celery["ARGS_SUMMARY"] = False

    traces = _resolve_traces(r)
    db = _resolve_db(r)
    cache_enabled = _switch(r, "CACHE", "E023")
    http_client_enabled = _switch(r, "HTTP_CLIENT", "E024")
    logs = _resolve_logs(r)
    commands = _resolve_commands(r)
    metrics = resolve_metrics(r)

    return Config(
        enabled=enabled,
        project_name=project_name,
        service_name=service_name,
        service_name_explicit=bool(explicit_service),
        service_version=service_version,
        environment=environment,
        exporters=exporters,
        exporter_explicit=_exporter_explicit(r),
        otlp_endpoint=endpoint,
        otlp_protocol=protocol,  # type: ignore[arg-type]
        otlp_headers=headers,
        sample_rate=sample_rate,
        autotrace=AutotraceSettings(
            include=None if autotrace["INCLUDE"] is None else tuple(autotrace["INCLUDE"]),
            exclude=tuple(autotrace["EXCLUDE"]),
            min_duration_ms=float(autotrace["MIN_DURATION_MS"])),
        stats=StatsSettings(enabled=stats["ENABLED"] is not False,
                            flush_interval_s=float(stats["FLUSH_INTERVAL_S"]),
                            retention_days=float(stats["RETENTION_DAYS"])),
        sentry_dsn=sentry_dsn,
        sentry_environment=sentry_environment,
        excluded_urls=excluded,
        max_frames=max_frames,
        max_length=max_length,
        capture_locals=capture_locals,
        problems=tuple(r.problems),
        celery=CelerySettings(args_summary=bool(celery["ARGS_SUMMARY"])),
        trace_url=trace_url,
        traces=traces,
        db=db,
        cache_enabled=cache_enabled,
        http_client_enabled=http_client_enabled,
        logs=logs,
        commands=commands,
        metrics=metrics,
    )


def _exporter_explicit(r: _Resolver) -> bool:
    return (r.explicit("EXPORTER") and r.raw["EXPORTER"] is not None) or bool(
        r.env.get("OTEL_TRACES_EXPORTER"))


def _endpoint_configured(r: _Resolver) -> bool:
    """An OTLP endpoint was named somewhere (settings or env), not the localhost fallback."""
    return ((r.explicit("OTLP_ENDPOINT") and r.raw["OTLP_ENDPOINT"] is not None)
            or bool(r.env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
            or bool(r.env.get("OTEL_EXPORTER_OTLP_ENDPOINT")))


def _resolve_exporters(r: _Resolver, *, endpoint_configured: bool) -> tuple[str, ...]:
    if r.explicit("EXPORTER") and r.raw["EXPORTER"] is not None:
        value = r.raw["EXPORTER"]
        key = "TRACEKIT['EXPORTER']"
        if isinstance(value, str):
            names = [value]
        elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            names = list(value)
        else:
            r.report("E002", key, f"must be a str or a list of str, got {value!r}.",
                    "Use 'otlp', 'console', 'none' or a dotted path to a factory.")
            return ("none",)
    elif r.env.get("OTEL_TRACES_EXPORTER"):
        key = "OTEL_TRACES_EXPORTER"
        names = [n.strip() for n in r.env["OTEL_TRACES_EXPORTER"].split(",") if n.strip()]
    else:
        return ("otlp",) if endpoint_configured else ("none",)
    valid: list[str] = []
    for name in names:
        if name in EXPORTER_NAMES or _DOTTED_PATH.match(name):
            valid.append(name)
        else:
            r.report("E004", key, f"unknown exporter {name!r}.",
                    "Use 'otlp', 'console', 'none' or a dotted path to a factory returning a "
                    "SpanExporter or SpanProcessor.")
    if "none" in valid and len(valid) > 1:
        valid.remove("none")
    return tuple(valid) or ("none",)


def _resolve_protocol(r: _Resolver) -> str:
    if r.explicit("OTLP_PROTOCOL"):
        key, value = "TRACEKIT['OTLP_PROTOCOL']", r.raw["OTLP_PROTOCOL"]
    else:
        key = next((k for k in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
                    if r.env.get(k)), "")
        value = r.env.get(key, "http/protobuf") if key else "http/protobuf"
    if value not in OTLP_PROTOCOLS:
        r.report("E007", key, f"unsupported OTLP protocol {value!r}.",
                "Use 'http/protobuf' (port 4318) or 'grpc' (port 4317).")
        return "http/protobuf"
    return str(value)


def _resolve_endpoint(r: _Resolver, protocol: str) -> str:
    if r.explicit("OTLP_ENDPOINT") and r.raw["OTLP_ENDPOINT"] is not None:
        key, value, is_full = "TRACEKIT['OTLP_ENDPOINT']", r.raw["OTLP_ENDPOINT"], False
    elif r.env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        key, is_full = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", True
        value = r.env[key]
    elif r.env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        key, is_full = "OTEL_EXPORTER_OTLP_ENDPOINT", False
        value = r.env[key]
    else:
        return traces_endpoint(_OTLP_DEFAULT_ENDPOINTS[protocol], protocol)
    if not isinstance(value, str) or not _valid_url(value):
        r.report("E006", key, f"{value!r} is not a valid http(s) URL.",
                "Use e.g. 'http://collector:4318' (http/protobuf) or 'http://collector:4317' "
                "(grpc).")
        return traces_endpoint(_OTLP_DEFAULT_ENDPOINTS[protocol], protocol)
    # The *_TRACES_ENDPOINT env var is used as-is by spec; base URLs get the signal path.
    return value if is_full else traces_endpoint(value, protocol)


def _resolve_headers(r: _Resolver) -> dict[str, str]:
    if r.explicit("OTLP_HEADERS"):
        value = r.raw["OTLP_HEADERS"]
        if isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str)
                                              for k, v in value.items()):
            return {k.lower(): v for k, v in value.items()}
        r.report("E002", "TRACEKIT['OTLP_HEADERS']", "must be a dict of str to str.",
                "Use e.g. {'authorization': 'Bearer …'}.")
        return {}
    for key in ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"):
        if r.env.get(key):
            try:
                return parse_otlp_headers(r.env[key])
            except ValueError as exc:
                r.report("E008", key, f"cannot be parsed: {exc}.",
                        "Use the 'name1=value1,name2=value2' format (URL-encode values).")
                return {}
    return {}


def _resolve_sample_rate(r: _Resolver) -> float:
    if r.explicit("SAMPLE_RATE"):
        rate = r.typed("SAMPLE_RATE", (int, float), 1.0)
        key = "TRACEKIT['SAMPLE_RATE']"
    else:
        sampler = r.env.get("OTEL_TRACES_SAMPLER", "").strip().lower()
        if not sampler:
            return 1.0
        if sampler in _SAMPLERS_FIXED:
            return _SAMPLERS_FIXED[sampler]
        if sampler not in _SAMPLERS_WITH_RATIO:
            r.report("W004", "OTEL_TRACES_SAMPLER",
                      f"sampler {sampler!r} is not supported; sampling everything.",
                      "Use traceidratio/parentbased_traceidratio or TRACEKIT['SAMPLE_RATE'].")
            return 1.0
        key = "OTEL_TRACES_SAMPLER_ARG"
        arg = r.env.get(key, "1.0")
        try:
            rate = float(arg)
        except ValueError:
            r.report("E008", key, f"{arg!r} is not a number.", "Use a ratio such as 0.1.")
            return 1.0
    if not 0.0 <= float(rate) <= 1.0:
        r.report("E003", key, f"{rate!r} is outside 0..1.",
                "Use a ratio between 0.0 (nothing) and 1.0 (everything), e.g. 0.1.")
        return 1.0
    return float(rate)


def _check_autotrace(r: _Resolver, autotrace: dict[str, Any]) -> None:
    where = "TRACEKIT['AUTOTRACE']"
    for key in ("INCLUDE", "EXCLUDE"):
        value = autotrace[key]
        if value is None and key == "INCLUDE":
            continue
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            r.report("E011", f"{where}[{key!r}]", f"must be a list of module names, got {value!r}.",
                    "Use e.g. ['shop'] or ['shop.migrations', 'shop.utils.fast_*'].")
            autotrace[key] = [] if key == "EXCLUDE" else None
    ms = autotrace["MIN_DURATION_MS"]
    if isinstance(ms, bool) or not isinstance(ms, (int, float)) or ms < 0:
        r.report("E011", f"{where}['MIN_DURATION_MS']", f"must be a number >= 0, got {ms!r}.",
                "Use e.g. 1.0 (milliseconds).")
        autotrace["MIN_DURATION_MS"] = DEFAULTS["AUTOTRACE"]["MIN_DURATION_MS"]


def _check_stats(r: _Resolver, stats: dict[str, Any]) -> None:
    r.typed("ENABLED", bool, True, stats, "TRACEKIT['STATS']")
    for key in ("FLUSH_INTERVAL_S", "RETENTION_DAYS"):
        value = stats[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            r.report("E012", f"TRACEKIT['STATS'][{key!r}]", f"must be a number > 0, got {value!r}.",
                    f"Use e.g. {DEFAULTS['STATS'][key]}.")
            stats[key] = DEFAULTS["STATS"][key]


def _number(r: _Resolver, section: dict[str, Any], name: str, key: str, id: str, *,
            integer: bool = False, low: float = 0.0, high: float | None = None,
            low_inclusive: bool = False) -> float:
    """``section[key]`` if it is a number in range, else its default (and a problem)."""
    value = section[key]
    kinds: tuple[type, ...] = (int,) if integer else (int, float)
    if not isinstance(value, bool) and isinstance(value, kinds):
        number = float(value)  # type: ignore[arg-type]  # an int or float here
        if (number >= low if low_inclusive else number > low) and (
                high is None or number <= high):
            return number
    bound = f">= {low:g}" if low_inclusive else f"> {low:g}"
    wanted = f"{'an int' if integer else 'a number'} {bound}" + (
        f" and <= {high:g}" if high is not None else "")
    default = DEFAULTS[name][key]
    r.report(id, f"TRACEKIT[{name!r}][{key!r}]", f"must be {wanted}, got {value!r}.",
             f"Use e.g. {default!r}.")
    return default  # type: ignore[no-any-return]


def _enabled(r: _Resolver, section: dict[str, Any], name: str, id: str) -> bool:
    value = section["ENABLED"]
    if isinstance(value, bool):
        return value
    r.report(id, f"TRACEKIT[{name!r}]['ENABLED']", f"must be True or False, got {value!r}.",
             "Use True (the default) or False to turn it off.")
    return bool(DEFAULTS[name]["ENABLED"])


def _switch(r: _Resolver, name: str, id: str) -> bool:
    return _enabled(r, r.section(name), name, id)


def _resolve_traces(r: _Resolver) -> TracesSettings:
    section = r.section("TRACES")
    return TracesSettings(
        enabled=_enabled(r, section, "TRACES", "E019"),
        retention_hours=float(_number(r, section, "TRACES", "RETENTION_HOURS", "E019")),
        max_traces=int(_number(r, section, "TRACES", "MAX_TRACES", "E019", integer=True)),
        sample_rate=float(_number(r, section, "TRACES", "SAMPLE_RATE", "E019", high=1.0,
                                  low_inclusive=True)),
        max_spans_per_trace=int(_number(r, section, "TRACES", "MAX_SPANS_PER_TRACE", "E019",
                                        integer=True)),
    )


def _resolve_db(r: _Resolver) -> DbSettings:
    section = r.section("DB")
    return DbSettings(enabled=_enabled(r, section, "DB", "E020"),
                      n_plus_one=int(_number(r, section, "DB", "N_PLUS_ONE", "E020",
                                             integer=True, low=2, low_inclusive=True)))


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _resolve_logs(r: _Resolver) -> LogsSettings:
    section = r.section("LOGS")
    value = section["LEVEL"]
    if value is None:
        return LogsSettings(level=None)
    if isinstance(value, str) and value.upper() in _LOG_LEVELS:
        import logging

        return LogsSettings(level=logging.getLevelName(value.upper()))
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return LogsSettings(level=value)
    r.report("E025", "TRACEKIT['LOGS']['LEVEL']",
             f"must be a logging level name, number or None, got {value!r}.",
             f"Use one of {', '.join(_LOG_LEVELS)}, or None to keep log records off spans.")
    return LogsSettings()


def _resolve_commands(r: _Resolver) -> CommandsSettings:
    section = r.section("COMMANDS")
    enabled = _enabled(r, section, "COMMANDS", "E026")
    exclude = section["EXCLUDE"]
    if not isinstance(exclude, (list, tuple)) or not all(isinstance(v, str) for v in exclude):
        r.report("E026", "TRACEKIT['COMMANDS']['EXCLUDE']",
                 f"must be a list of command names, got {exclude!r}.",
                 "Use e.g. ['process_queue'] (commands that run for days).")
        exclude = ()
    return CommandsSettings(enabled=enabled, exclude=tuple(exclude))


def _positive_int(r: _Resolver, section: dict[str, Any], key: str, name: str) -> int:
    value = section[key]
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        r.report("E002", f"TRACEKIT[{name!r}][{key!r}]", f"must be an int > 0, got {value!r}.",
                f"Use e.g. {DEFAULTS[name][key]}.")
        return int(DEFAULTS[name][key])
    return value


def _resolve_excluded_urls(r: _Resolver) -> tuple[re.Pattern[str], ...]:
    value = r.typed("EXCLUDED_URLS", (list, tuple), [])
    patterns: list[re.Pattern[str]] = []
    for item in value:
        try:
            patterns.append(re.compile(item))
        except (re.error, TypeError) as exc:
            r.report("E009", "TRACEKIT['EXCLUDED_URLS']", f"{item!r} is not a valid regex: {exc}.",
                    "Use Python regexes matched against request.path, e.g. r'^/healthz'.")
    return tuple(patterns)


_lock = threading.Lock()
_cached: Config | None = None


def get_config() -> Config:
    """The current :class:`Config`; resolved on first use, cleared on ``setting_changed``."""
    global _cached
    config = _cached
    if config is None:
        with _lock:
            if _cached is None:
                _cached = resolve(getattr(django_settings, "TRACEKIT", None), os.environ)
            config = _cached
    return config


def reset_config() -> None:
    global _cached
    with _lock:
        _cached = None


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("TRACEKIT", "BASE_DIR", "ROOT_URLCONF", "INSTALLED_APPS"):
        project.clear_cache()
        reset_config()
