"""Optional Sentry forwarding: every error recorded on a span becomes one Sentry event.

Imported only when Sentry is in use (``install()`` from ``apps.ready()``, ``check_sentry()``
from ``checks.py``); ``sentry_sdk`` itself is imported only by ``install()``. One job per
module:

- ``version``: which sentry-sdk is installed; 2.x is supported, 3.x refused (E017);
- ``checks``: whether forwarding is asked for (a DSN or the application's client), E017/E018;
- ``client``: ``install()``: use the application's client as it is, or ``sentry_sdk.init``
  with the SDK's defaults except no Sentry tracing (traces go over OTLP), no local values
  unless ``TRACEKIT['ERRORS']['CAPTURE_LOCALS']``, in-app frames = the project's packages;
- ``sdk_integration``: a Sentry SDK ``Integration`` whose ``setup_once`` adds tracekit's hooks;
- ``integration``: tracekit's own registry entry (a destination of errors);
- ``events``: tracekit's event for an error: Sentry's exception, the full stack as the
  crashed thread, ``contexts.trace`` = the span's ids, ``tracekit.*`` tags;
- ``processor`` + ``markers``: first reporter wins, per exception object: SDK duplicates of a
  forwarded error are dropped; an error an SDK integration saw first is adopted;
- ``scrub``: tracekit's secrets rule on every event (``before_send``) and frame variables.

Capture only builds the event; the SDK's transport sends it from its background thread with
a bounded queue, so Sentry never slows the application. See ``docs/sentry.md``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Loaded on first use (PEP 562): the registry imports ``integration`` (a submodule, so this
# package runs first) in every process, and with Sentry off the client, scrubbing and
# transport modules must not be loaded (docs/PERFORMANCE.md, "Memory").
_EXPORTS = {"check_sentry": "checks", "sentry_wanted": "checks", "Status": "client",
            "install": "client", "redact_event": "scrub"}

__all__ = ["Status", "check_sentry", "install", "redact_event", "sentry_wanted"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
