"""Which sentry-sdk is installed, and whether tracekit supports it (2.x only)."""

from __future__ import annotations

import importlib.util
import re

SUPPORTED_MAJOR = 2
EXTRA_HINT = "pip install 'django-tracekit[sentry]'"


def sdk_version() -> str | None:
    """The installed sentry_sdk version, or None when the extra is not installed."""
    try:
        if importlib.util.find_spec("sentry_sdk") is None:
            return None
    except (ImportError, ValueError):
        return None
    from sentry_sdk.consts import VERSION

    return str(VERSION)


def _major(version: str) -> int:
    match = re.match(r"(\d+)", version)
    return int(match.group(1)) if match else 0


def unsupported(version: str) -> str | None:
    """Why ``version`` cannot be used, or None when it is supported."""
    major = _major(version)
    if major == SUPPORTED_MAJOR:
        return None
    if major > SUPPORTED_MAJOR:
        return (f"sentry-sdk {version} is not supported: 3.x changes how Sentry relates to "
                "OpenTelemetry (its pre-releases install their own global TracerProvider and "
                "sampler) and removes APIs tracekit's forwarding relies on")
    return f"sentry-sdk {version} is too old"
