"""The one interface every source and destination of spans implements.

A *source* makes spans (HTTP server, Celery, auto-trace; later SQL, cache, HTTP client, logs,
commands); a *destination* receives finished spans (stats, export; later the trace store) or
errors (Sentry). Each is a subclass of :class:`Integration` named in
:data:`django_tracekit.integrations.REGISTRY`; the bootstrap asks each one, in registry
order, for what it contributes:

- :meth:`Integration.refusal`: why it stays off (a missing extra, its setting off); asked
  first, so an integration whose library is absent never imports it;
- :meth:`Integration.checks`: system-check problems of its own settings;
- :meth:`Integration.setup_once`: hooks that must exist before spans are made (signals,
  patches); idempotent, never raises into the application;
- :meth:`Integration.configure`: hands its section of the config to what it installed, once
  set up and again whenever the settings change: code that runs per query, span, log record
  or request reads what it was handed, never ``get_config()``;
- :meth:`Integration.processors` / :meth:`Integration.wrap_sampler`: what it adds to the
  TracerProvider;
- :meth:`Integration.on_error` and :meth:`Integration.expected_exceptions`: errors as they
  are first recorded, and exceptions that are outcomes, not errors;
- :attr:`Integration.local`: the processors of a local destination (stats, trace store)
  are flushed before any exporter's, in the exiting thread, at every process exit, so a
  collector that is down cannot cost a count.

Inspired by sentry-python's ``Integration.setup_once`` and debug-toolbar's panels: validate
up front, set up idempotently, refuse with a clear reason.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, Literal

from django.core.checks import CheckMessage
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.sampling import Sampler
from opentelemetry.trace import Span

if TYPE_CHECKING:
    from django_tracekit.conf import Config

Role = Literal["source", "destination"]
Phase = Literal["import", "ready"]


def importable(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing or broken
        return False


class Integration:
    """A source or destination of spans. Subclasses set the class attributes and override
    the hooks they need; every hook has a do-nothing default."""

    #: Stable name used in log lines and ``manage.py tracekit_status``.
    identifier: ClassVar[str]
    role: ClassVar[Role]
    #: "import": set up in ``AppConfig.__init__`` (before other apps import their modules);
    #: "ready": in ``AppConfig.ready()`` (the usual case).
    phase: ClassVar[Phase] = "ready"
    #: Modules that must be importable (its optional extra), checked before anything else.
    requires: ClassVar[tuple[str, ...]] = ()
    #: The ``pip install django-tracekit[extra]`` that provides :attr:`requires`.
    extra: ClassVar[str | None] = None
    #: A local destination: flushed first at exit, independently of any exporter.
    local: ClassVar[bool] = False

    def __init__(self, config: Config) -> None:
        self.config = config

    # -- deciding ------------------------------------------------------------------------
    def refusal(self) -> str | None:
        """Why this integration stays off with this configuration, or ``None`` if it is on.

        The default refuses when a required module is missing; subclasses add their setting
        (``super().refusal() or ...``). Never imports an optional library."""
        missing = [m for m in self.requires if not importable(m)]
        if missing:
            hint = f" (pip install 'django-tracekit[{self.extra}]')" if self.extra else ""
            return f"{', '.join(missing)} not installed{hint}"
        return None

    def checks(self) -> Sequence[CheckMessage]:
        """System-check messages (``django_tracekit.E0xx``/``W0xx``) of this integration;
        asked whether it is on or off (a DSN without its SDK is worth an error)."""
        return ()

    # -- contributing --------------------------------------------------------------------
    def setup_once(self) -> None:
        """Install signal handlers, patches or hooks. Idempotent."""

    def configure(self) -> None:
        """Hand :attr:`config`'s section to what :meth:`setup_once` installed (its per-call
        code reads it there). Called after ``setup_once`` and again by :meth:`reconfigure`."""

    def reconfigure(self, config: Config) -> None:
        """The settings changed (``override_settings``): this is the new config."""
        self.config = config
        self.configure()

    def processors(self, owns_provider: bool) -> Sequence[SpanProcessor]:
        """Span processors to add to the TracerProvider, in order. ``owns_provider`` is
        False when tracekit attached to a provider the application had already set."""
        return ()

    def describe(self) -> str:
        """Where this destination sends spans, for the start-up line ("": nothing to say)."""
        return ""

    def wrap_sampler(self, sampler: Sampler) -> Sampler:
        """Wrap tracekit's sampler (only when tracekit owns the provider)."""
        return sampler

    def expected_exceptions(self) -> tuple[type[BaseException], ...]:
        """Exception types that are outcomes of this source, not errors (Celery's Retry)."""
        return ()

    def on_error(self, exc: BaseException, span: Span) -> None:
        """Called once per error, where it is first recorded, sampled or not."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.identifier}>"
