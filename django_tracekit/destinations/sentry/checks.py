"""Whether Sentry forwarding is asked for, and the system checks of the integration."""

from __future__ import annotations

import sys

from django.core.checks import CheckMessage, Error

from django_tracekit.conf import Config
from django_tracekit.destinations.sentry import version


def client_active() -> bool:
    """Whether a Sentry client is initialised (by the application or by tracekit)."""
    import sentry_sdk

    return bool(sentry_sdk.get_client().is_active())


def sentry_wanted(config: Config) -> bool:
    """Whether Sentry forwarding is asked for: a DSN, or a client the application started."""
    if config.sentry_dsn:
        return True
    if "sentry_sdk" not in sys.modules:  # the application did not even import it
        return False
    try:
        return client_active()
    except Exception:
        return False


def check_sentry(config: Config) -> list[CheckMessage]:
    """System check messages for the Sentry integration (register from ``checks.py``).

    E017: Sentry is configured but the installed sentry-sdk is not a supported version.
    E018: a DSN is configured but sentry-sdk is not installed.
    """
    if not config.sentry_dsn and "sentry_sdk" not in sys.modules:
        return []  # nothing asked for, and no version to check without importing the SDK
    installed = version.sdk_version()
    key = "TRACEKIT['SENTRY']['DSN']"
    if installed is None:
        if config.sentry_dsn:
            return [Error(f"{key} is set but sentry-sdk is not installed: errors are not "
                          "forwarded to Sentry.", hint=f"Install the extra: {version.EXTRA_HINT}.",
                          id="django_tracekit.E018")]
        return []
    if not sentry_wanted(config):
        return []
    problem = version.unsupported(installed)
    if problem is None:
        return []
    return [Error(f"{problem}; errors are not forwarded to Sentry.",
                  hint="Install a supported version: pip install 'sentry-sdk>=2,<3', or "
                       "remove TRACEKIT['SENTRY'] / SENTRY_DSN to turn forwarding off.",
                  id="django_tracekit.E017")]
