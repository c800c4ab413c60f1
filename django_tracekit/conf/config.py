"""The resolved settings: :class:`Config`, one typed section per ``TRACEKIT`` section."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from django_tracekit.conf import (
    autotrace,
    cache,
    celery,
    commands,
    db,
    errors,
    export,
    http_client,
    logs,
    metrics,
    sentry,
    stats,
    toplevel,
    traces,
)
from django_tracekit.conf.autotrace import AutotraceSettings
from django_tracekit.conf.base import Problem, Reader
from django_tracekit.conf.cache import CacheSettings
from django_tracekit.conf.celery import CelerySettings
from django_tracekit.conf.commands import CommandsSettings
from django_tracekit.conf.db import DbSettings
from django_tracekit.conf.errors import ErrorsSettings
from django_tracekit.conf.http_client import HttpClientSettings
from django_tracekit.conf.logs import LogsSettings
from django_tracekit.conf.metrics import MetricsSettings
from django_tracekit.conf.sentry import SentrySettings
from django_tracekit.conf.stats import StatsSettings
from django_tracekit.conf.traces import TracesSettings


@dataclass(frozen=True)
class Config:
    """The resolved, validated settings. Built once and cached (``current.get_config``);
    an integration is built with it and hands its section to what it installs."""

    # The top-level keys (toplevel.py, export.py).
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
    excluded_urls: tuple[re.Pattern[str], ...]
    trace_url: str | None
    # The sections, one module each.
    autotrace: AutotraceSettings = field(default_factory=AutotraceSettings)
    stats: StatsSettings = field(default_factory=StatsSettings)
    sentry: SentrySettings = field(default_factory=SentrySettings)
    error_capture: ErrorsSettings = field(default_factory=ErrorsSettings)
    celery: CelerySettings = field(default_factory=CelerySettings)
    traces: TracesSettings = field(default_factory=TracesSettings)
    db: DbSettings = field(default_factory=DbSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    http_client: HttpClientSettings = field(default_factory=HttpClientSettings)
    logs: LogsSettings = field(default_factory=LogsSettings)
    commands: CommandsSettings = field(default_factory=CommandsSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    problems: tuple[Problem, ...] = ()

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The error-level problems (tracing stays off while there is one)."""
        return tuple(p for p in self.problems if p.is_error)

    # Short names the code used before the sections were typed.
    @property
    def sentry_dsn(self) -> str | None:
        return self.sentry.dsn

    @property
    def sentry_environment(self) -> str | None:
        return self.sentry.environment

    @property
    def max_frames(self) -> int:
        return self.error_capture.max_frames

    @property
    def max_length(self) -> int:
        return self.error_capture.max_length

    @property
    def capture_locals(self) -> bool:
        return self.error_capture.capture_locals

    @property
    def cache_enabled(self) -> bool:
        return self.cache.enabled

    @property
    def http_client_enabled(self) -> bool:
        return self.http_client.enabled


def resolve(raw: Any, env: Mapping[str, str]) -> Config:
    """Build a :class:`Config` from a raw ``TRACEKIT`` value and an environment mapping."""
    r = Reader(raw, env)
    top = toplevel.read(r)
    sent = export.read(r)
    return Config(
        enabled=top.enabled,
        project_name=top.project_name,
        service_name=top.service_name,
        service_name_explicit=top.service_name_explicit,
        service_version=top.service_version,
        environment=top.environment,
        exporters=sent.exporters,
        exporter_explicit=sent.exporter_explicit,
        otlp_endpoint=sent.otlp_endpoint,
        otlp_protocol=sent.otlp_protocol,
        otlp_headers=sent.otlp_headers,
        sample_rate=sent.sample_rate,
        excluded_urls=top.excluded_urls,
        trace_url=top.trace_url,
        autotrace=autotrace.read(r),
        stats=stats.read(r),
        sentry=sentry.read(r, top.environment),
        error_capture=errors.read(r),
        celery=celery.read(r),
        traces=traces.read(r),
        db=db.read(r),
        cache=cache.read(r),
        http_client=http_client.read(r),
        logs=logs.read(r),
        commands=commands.read(r),
        metrics=metrics.read(r),
        problems=tuple(r.problems),
    )
