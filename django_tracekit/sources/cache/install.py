"""The seam: every backend instance ``django.core.cache.caches`` creates is traced.

Django has no public hook for cache calls. ``CacheHandler.create_connection(alias)`` is
the one method through which every backend instance comes to be: each alias, each thread
(connections are thread-local), and the new handler state after ``override_settings(
CACHES=...)``. It is wrapped once, at the class; instances created before that (by an
app's ``ready()``, in this thread) are found in the handler's ``_connections`` and traced
too. Both are private-ish and guarded: without them cache calls are not traced, with one
log line (docs/PRIVATE_SEAMS.md).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from django_tracekit.sources.cache import calls

logger = logging.getLogger("django_tracekit")

_PATCHED = "_tracekit_patched"


def _location(handler: Any, alias: str) -> Any:
    try:
        return handler.settings[alias].get("LOCATION")
    except Exception:
        return None


def _instrument(handler: Any, backend: Any, alias: str) -> None:
    try:
        calls.instrument(backend, alias, _location(handler, alias))
    except Exception:
        logger.warning("tracekit: cache alias %r (%s) cannot be traced", alias,
                       type(backend).__name__, exc_info=True)


def install() -> bool:
    """Trace every cache backend from now on (idempotent). ``False`` if the seam is gone."""
    from django.core.cache import CacheHandler, caches

    original = getattr(CacheHandler, "create_connection", None)
    if not callable(original):
        logger.warning("tracekit: django.core.cache.CacheHandler.create_connection is missing; "
                       "cache calls are not traced")
        return False
    if not getattr(original, _PATCHED, False):
        @functools.wraps(original)
        def create_connection(self: Any, alias: str) -> Any:
            backend = original(self, alias)
            _instrument(self, backend, alias)
            return backend

        setattr(create_connection, _PATCHED, True)
        CacheHandler.create_connection = create_connection  # type: ignore[method-assign]
    _instrument_existing(caches)
    return True


def _instrument_existing(handler: Any) -> None:
    """Backends this thread created before the patch (no public way to tell an alias that
    is initialised from one that is not without creating it)."""
    connections = getattr(handler, "_connections", None)
    if connections is None:
        return
    try:
        aliases = list(handler)
    except Exception:
        return
    for alias in aliases:
        backend = getattr(connections, alias, None)
        if backend is not None:
            _instrument(handler, backend, alias)
