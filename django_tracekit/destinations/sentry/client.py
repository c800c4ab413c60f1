"""Turning forwarding on: use the application's Sentry client, or initialise one."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from django_tracekit.conf import Config
from django_tracekit.core import exit as exiting
from django_tracekit.core.exit import EXIT_TIMEOUT_S
from django_tracekit.destinations.sentry import checks, scrub, state, transport, version

logger = logging.getLogger("django_tracekit")


@dataclass(frozen=True)
class Status:
    """What :func:`install` did: ``enabled`` or the reason it refused."""

    enabled: bool
    reason: str
    owns_client: bool = False


_lock = threading.Lock()
_status: Status | None = None


def install(config: Config) -> Status:
    """Turn forwarding on for this process (idempotent: later calls return the first result)."""
    global _status
    with _lock:
        if _status is not None and _status.enabled:
            return _status
        _status = _install(config)
    if _status.enabled:
        logger.info("tracekit: Sentry forwarding is on (%s)", _status.reason)
    elif config.sentry_dsn:  # asked for and refused: say why, once
        logger.warning("tracekit: Sentry forwarding is off: %s", _status.reason)
    return _status


def _in_app_packages(config: Config) -> tuple[str, ...]:
    """Top packages of the project's own code: PROJECT_NAME, ROOT_URLCONF, AUTOTRACE INCLUDE."""
    from django.conf import settings

    names: list[str] = [config.project_name]
    urlconf = getattr(settings, "ROOT_URLCONF", None)
    if isinstance(urlconf, str):
        names.append(urlconf)
    include = config.autotrace.include or ()
    names.extend(str(n) for n in include)
    packages: list[str] = []
    for name in names:
        top = name.split(".")[0].replace("-", "_")
        if top.isidentifier() and top != state.OUR_PACKAGE and top not in packages:
            packages.append(top)
    return tuple(packages)


def _install(config: Config) -> Status:
    installed = version.sdk_version()
    if installed is None:
        return Status(False, f"sentry-sdk is not installed ({version.EXTRA_HINT})")
    problem = version.unsupported(installed)
    if problem is not None:
        return Status(False, problem + " (system check django_tracekit.E017)")
    if any(p.id == "E013" for p in config.problems):
        return Status(False, "the Sentry DSN is invalid (system check django_tracekit.E013)")

    import sentry_sdk

    from django_tracekit.destinations.sentry import sdk_integration

    in_app = _in_app_packages(config)
    # Set before the hooks exist: events captured from then on are forwarded and adopted.
    state.current = state.Settings(service_name=config.service_name, in_app=in_app,
                                   max_frames=config.max_frames, trace_url=config.trace_url,
                                   store_enabled=config.traces.enabled)
    owns = False
    if checks.client_active():
        sdk_integration.setup_for_existing_client()
        reason = "using the Sentry client the application initialised"
    elif config.sentry_dsn:
        try:
            sentry_sdk.init(
                dsn=config.sentry_dsn,
                environment=config.sentry_environment,
                in_app_include=list(in_app),
                in_app_exclude=[state.OUR_PACKAGE],
                # The error convention: no local variable values unless asked for.
                include_local_variables=config.capture_locals,
                integrations=[sdk_integration.TracekitIntegration()],
                # Not setting traces_sample_rate/traces_sampler keeps Sentry tracing off.
                # An exit waits at most this for a Sentry that is down or slow (SDK: 2 s).
                shutdown_timeout=EXIT_TIMEOUT_S,
            )
        except Exception as exc:  # a bad option must not break the application
            state.current = None
            return Status(False, f"sentry_sdk.init failed: {exc!r}")
        owns = True
        reason = "initialised Sentry from TRACEKIT['SENTRY'] / SENTRY_DSN"
        exiting.add_participant("sentry", _at_exit)
    else:
        state.current = None
        return Status(False, "no DSN configured and no Sentry client initialised")
    scrub.wrap_before_send(sentry_sdk.get_client())
    transport.untraced_sends(sentry_sdk.get_client())
    return Status(True, reason, owns_client=owns)


def _at_exit(deadline: float) -> None:
    """The exit's share for the client tracekit initialised: its pending events are sent
    within what is left of the shared deadline (the other destinations work meanwhile on
    their own threads), and the SDK's own exit hook, which runs after tracekit's, waits
    only what is left then, not a budget of its own. In a Celery pool child, which leaves
    through ``os._exit`` (no atexit), this flush is the only one."""
    import sentry_sdk

    client = sentry_sdk.get_client()
    if not client.is_active():
        return
    client.flush(timeout=max(0.0, deadline - time.monotonic()))
    client.options["shutdown_timeout"] = round(max(0.0, deadline - time.monotonic()), 2)
