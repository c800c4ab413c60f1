"""The top-level keys that say who is traced: ENABLED, PROJECT_NAME, SERVICE_NAME,
SERVICE_VERSION, ENVIRONMENT, EXCLUDED_URLS, TRACE_URL (the export keys: ``export.py``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from django_tracekit.conf.base import Reader, env_flag, valid_url
from django_tracekit.core import project

CHECK_IDS = {"ENABLED": "E028", "PROJECT_NAME": "E010", "SERVICE_NAME": "E029",
             "SERVICE_VERSION": "E030", "ENVIRONMENT": "E031", "EXCLUDED_URLS": "E009",
             "TRACE_URL": "E016"}
#: PROJECT_NAME could not be derived: names get no project prefix.
NO_PROJECT_NAME = "W003"
_PROJECT_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


@dataclass(frozen=True)
class TopLevelSettings:
    enabled: bool
    project_name: str
    service_name: str
    service_name_explicit: bool  # set in TRACEKIT or OTEL_SERVICE_NAME, not derived
    service_version: str | None
    environment: str | None
    excluded_urls: tuple[re.Pattern[str], ...]
    trace_url: str | None


def _resource_attribute(env: Mapping[str, str], key: str) -> str | None:
    for item in env.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        name, _, value = item.partition("=")
        if name.strip() == key and value.strip():
            return unquote(value.strip())
    return None


def _service_version(project_name: str) -> str | None:
    # Distribution, providing distribution, __version__, settings.VERSION, VERSION file,
    # git commit: see core/versions.py.
    from django_tracekit.core.versions import detect

    return detect(project_name, project.project_root()).value


def _project_name(r: Reader) -> str:
    name = r.text(r.top, "PROJECT_NAME", CHECK_IDS["PROJECT_NAME"],
                  "Use letters, digits, '_', '-' or '.', e.g. 'shop'.",
                  valid=lambda v: not v or bool(_PROJECT_NAME.match(v)),
                  wanted="a name of letters, digits, '_', '-' or '.' (others break "
                  "code-location names)") or project.default_project_name()
    if not name:
        r.report(NO_PROJECT_NAME, "TRACEKIT['PROJECT_NAME']",
                 "could not be derived (no ROOT_URLCONF or BASE_DIR); names have no project "
                 "prefix.", "Set TRACEKIT['PROJECT_NAME'] = 'yourproject'.")
    return name


def _excluded_urls(r: Reader) -> tuple[re.Pattern[str], ...]:
    id, hint = CHECK_IDS["EXCLUDED_URLS"], (
        "Use Python regexes matched against request.path, e.g. r'^/healthz'.")
    value = r.top.merged["EXCLUDED_URLS"]
    if not isinstance(value, (list, tuple)):
        value = r.invalid(r.top, "EXCLUDED_URLS", id, "a list of regexes", hint)
    patterns: list[re.Pattern[str]] = []
    for item in value:
        try:
            patterns.append(re.compile(item))
        except (re.error, TypeError) as exc:
            r.report(id, "TRACEKIT['EXCLUDED_URLS']", f"{item!r} is not a valid regex: {exc}.",
                     hint)
    return tuple(patterns)


def read(r: Reader) -> TopLevelSettings:
    top, env = r.top, r.env
    enabled = (r.flag(top, "ENABLED", CHECK_IDS["ENABLED"]) if top.explicit("ENABLED")
               else not env_flag(env, "OTEL_SDK_DISABLED"))
    project_name = _project_name(r)
    explicit_service = r.text(top, "SERVICE_NAME", CHECK_IDS["SERVICE_NAME"],
                              "Use e.g. 'shop-web'.") or env.get("OTEL_SERVICE_NAME")
    derived_service = (f"{project_name}-worker" if project_name
                       and project.celery_worker_process() else project_name)
    # The environment wins over the derived default, as for service.name (README).
    service_version = r.text(top, "SERVICE_VERSION", CHECK_IDS["SERVICE_VERSION"],
                             "Use e.g. '1.4.2' or a commit.") \
        or _resource_attribute(env, "service.version")
    return TopLevelSettings(
        enabled=enabled,
        project_name=project_name,
        service_name=(explicit_service or _resource_attribute(env, "service.name")
                      or derived_service or "unknown_service"),
        service_name_explicit=bool(explicit_service),
        service_version=service_version or _service_version(project_name),
        environment=r.text(top, "ENVIRONMENT", CHECK_IDS["ENVIRONMENT"],
                           "Use e.g. 'production'."),
        excluded_urls=_excluded_urls(r),
        trace_url=r.text(top, "TRACE_URL", CHECK_IDS["TRACE_URL"],
                         "Use e.g. 'https://jaeger.example.com/trace/{trace_id}'.",
                         valid=lambda u: "{trace_id}" in u and valid_url(u),
                         wanted="an http(s) URL containing '{trace_id}'"),
    )
