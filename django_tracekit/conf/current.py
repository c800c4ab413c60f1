"""The current :class:`~django_tracekit.conf.config.Config`: resolved on first use, cached,
rebuilt on ``setting_changed`` (tests' ``override_settings``).

Code that runs per call (a query, a span, a log record, a request) never asks for it: its
integration hands it its section at install, and :func:`on_change` hands the new one over
when settings change. Checks, management commands, pages and set-up code call
:func:`get_config`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings as django_settings
from django.core.signals import setting_changed

from django_tracekit.conf.config import Config, resolve
from django_tracekit.core import project

#: Settings the config derives from (PROJECT_NAME's default reads the last three).
WATCHED = ("TRACEKIT", "BASE_DIR", "ROOT_URLCONF", "INSTALLED_APPS")

_lock = threading.Lock()
_cached: Config | None = None
_listeners: list[Callable[[Config], None]] = []


def get_config() -> Config:
    """The current :class:`Config`; resolved on first use, cleared on ``setting_changed``."""
    global _cached
    config = _cached
    if config is None:
        with _lock:
            if _cached is None:
                _cached = resolve(getattr(django_settings, "TRACEKIT", None), os.environ)
            config = _cached
    return config


def reset_config() -> None:
    global _cached
    with _lock:
        _cached = None


def on_change(listener: Callable[[Config], None]) -> None:
    """Call ``listener`` with the new config each time a watched setting changes (the
    bootstrap: its integrations hand the new sections to what they installed)."""
    if listener not in _listeners:
        _listeners.append(listener)


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting not in WATCHED:
        return
    project.clear_cache()
    reset_config()
    if _listeners:
        config = get_config()
        for listener in list(_listeners):
            listener(config)


setting_changed.connect(_on_setting_changed, dispatch_uid="django_tracekit.conf")


def _declared() -> project.Declared:
    config = get_config()
    return project.Declared(config.project_name, config.autotrace.include)


project.read_declared_from(_declared)  # naming reads PROJECT_NAME through the core
