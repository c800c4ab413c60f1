"""Every setting's default, in one dict (as debug-toolbar's ``settings.py``).

Precedence for every key: explicit ``settings.TRACEKIT`` value > ``OTEL_*``/``SENTRY_*``
environment > the default below. Each section is validated by its own module of this
package (``autotrace.py``, ``stats.py`` ...); docs/checks.md lists every check id.
"""

from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    # Master switch. Default: on, unless OTEL_SDK_DISABLED=true.
    "ENABLED": True,
    # First segment of every code-location name. Default: the top package of the first
    # INSTALLED_APPS entry under BASE_DIR, else of ROOT_URLCONF, else the name of BASE_DIR
    # (the same in web and worker processes, in every checkout; see core/project.py).
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
    # DATABASE: the DATABASES alias of tracekit's tables (stats + trace store).
    # KINDS: the feature kinds counted in the database (METRICS can carry the others).
    "STATS": {"ENABLED": True, "FLUSH_INTERVAL_S": 10, "RETENTION_DAYS": 90,
              "DATABASE": "default", "KINDS": ["request", "task", "command", "function"]},
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
