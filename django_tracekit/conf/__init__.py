"""Settings: ``TRACEKIT`` merged with ``OTEL_*``/``SENTRY_*`` env over the defaults, validated
per section, cached (docs/checks.md lists every check id).

- ``defaults.py``: every default, in one dict; ``base.py``: the one way a key is validated
  (a :class:`Reader` call naming the key's own check id);
- one module per section, each a frozen dataclass and its ``read``: ``toplevel.py`` and
  ``export.py`` (the top-level keys), ``autotrace``, ``stats``, ``traces``, ``db``, ``cache``,
  ``http_client``, ``logs``, ``commands``, ``metrics``, ``sentry``, ``errors``, ``celery``;
- ``config.py``: :class:`Config` and :func:`resolve`; ``current.py``: :func:`get_config`,
  cached and rebuilt on ``setting_changed``.
"""

from __future__ import annotations

from django_tracekit.conf.autotrace import AutotraceSettings
from django_tracekit.conf.base import Problem, Reader
from django_tracekit.conf.cache import CacheSettings
from django_tracekit.conf.celery import CelerySettings
from django_tracekit.conf.commands import CommandsSettings
from django_tracekit.conf.config import Config, resolve
from django_tracekit.conf.current import get_config, on_change, reset_config
from django_tracekit.conf.db import DbSettings
from django_tracekit.conf.defaults import DEFAULTS
from django_tracekit.conf.errors import ErrorsSettings
from django_tracekit.conf.export import (
    EXPORTER_NAMES,
    OTLP_PROTOCOLS,
    ExportSettings,
    parse_otlp_headers,
    traces_endpoint,
)
from django_tracekit.conf.http_client import HttpClientSettings
from django_tracekit.conf.logs import LogsSettings
from django_tracekit.conf.metrics import MetricsSettings
from django_tracekit.conf.sentry import SentrySettings
from django_tracekit.conf.stats import StatsSettings
from django_tracekit.conf.toplevel import TopLevelSettings
from django_tracekit.conf.traces import TracesSettings

__all__ = ["DEFAULTS", "EXPORTER_NAMES", "OTLP_PROTOCOLS", "AutotraceSettings", "CacheSettings",
           "CelerySettings", "CommandsSettings", "Config", "DbSettings", "ErrorsSettings",
           "ExportSettings", "HttpClientSettings", "LogsSettings", "MetricsSettings", "Problem",
           "Reader", "SentrySettings", "StatsSettings", "TopLevelSettings", "TracesSettings",
           "get_config", "on_change", "parse_otlp_headers", "reset_config", "resolve",
           "traces_endpoint"]
