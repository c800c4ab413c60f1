"""Always-on auto-tracing by exclusion: every function of the project's own code is counted,
and becomes a span when it is slow (>= MIN_DURATION_MS) or fails, while a trace records.

    from django_tracekit.sources import autotrace
    autotrace.install(config)          # once, before the project's modules are imported
    autotrace.counters.drain()         # {name: (calls, total_ns, max_ns)} for the stats

Mechanism: an import hook rewrites the AST of included modules (``hook.py``,
``rewrite.py``); the rewritten functions call into ``runtime.py``. Why this and not
``sys.monitoring`` or wrapping at import, with the measurements: docs/autotrace.md.
"""

from __future__ import annotations

import logging
import sys
import threading
import types
from dataclasses import dataclass, field
from typing import Any

from django_tracekit.core import chain
from django_tracekit.sources.autotrace import counters, early, runtime, system_checks
from django_tracekit.sources.autotrace.hook import MARKER, Finder, Rules
from django_tracekit.sources.autotrace.settings_modules import settings_modules

logger = logging.getLogger("django_tracekit")


@dataclass
class State:
    finder: Finder
    imported_before: list[str] = field(default_factory=list)

    @property
    def fallbacks(self) -> list[tuple[str, str]]:
        return self.finder.fallbacks

    @property
    def cached(self) -> list[str]:
        """Modules whose rewritten code was loaded from the bytecode cache."""
        return self.finder.cached


_state: State | None = None
_lock = threading.Lock()


def state() -> State | None:
    return _state


def install(config: Any = None) -> State | None:
    """Install the import hook and the context hook (idempotent). Returns None if off.

    ``config``: a :class:`django_tracekit.conf.Config` (default: ``get_config()``).
    Off when tracing is disabled, when the settings have errors, or when INCLUDE is [].
    """
    global _state
    with _lock:
        if _state is not None:
            return _state
        if config is None:
            from django_tracekit.conf import get_config

            config = get_config()
        if not config.enabled or config.errors:
            return None
        autotrace = config.autotrace
        include = autotrace.include
        if include is not None and not include:
            return None
        from django.conf import settings

        from django_tracekit.core.project import project_root

        rules = Rules(include, autotrace.exclude, project_root())
        runtime.set_threshold(autotrace.min_duration_ms / 1000.0)
        # The OpenTelemetry context hook is installed with the first rewritten module
        # (hook.Loader): a process with nothing to auto-trace pays nothing on its spans.
        finder = Finder(rules)
        sys.meta_path.insert(0, finder)
        from django.apps import apps

        if not apps.ready and runtime.top() is None:
            # App loading (models, ready()) is start-up: its calls are not usage.
            chain.set_top(chain.STARTING)
        system_checks.install()  # the checks run the project's code: not its use
        _state = State(finder, _imported_before(rules))
        counters.untraced_modules[:] = _state.imported_before
        if _state.imported_before:
            _warn_imported_before(_state.imported_before, settings)
        return _state


def uninstall() -> None:
    """Remove the hooks (tests). Modules already rewritten stay instrumented (counting only
    while no trace records)."""
    global _state
    with _lock:
        if _state is not None:
            sys.meta_path[:] = [f for f in sys.meta_path if f is not _state.finder]
        runtime.unhook_context()
        system_checks.uninstall()
        _state = None


def _exempt(name: str, module: types.ModuleType) -> bool:
    """Modules that necessarily load before any hook and hold no code worth tracing."""
    import os

    settings_module = os.environ.get("DJANGO_SETTINGS_MODULE", "")
    if name == settings_module or settings_module.startswith(name + "."):
        return True
    # A base settings module the settings star-import (values, not code to trace).
    if name in settings_modules(settings_module):
        return True
    # Nothing defined here (packages' __init__, wsgi/asgi entry points): nothing untraced.
    return not any(
        isinstance(v, (types.FunctionType, type)) and getattr(v, "__module__", None) == name
        for v in list(vars(module).values()))


def _imported_before(rules: Rules) -> list[str]:
    found = []
    for name, module in list(sys.modules.items()):
        if not isinstance(module, types.ModuleType) or vars(module).get(MARKER):
            continue
        spec = getattr(module, "__spec__", None)
        origin = getattr(spec, "origin", None) or getattr(module, "__file__", None)
        # gunicorn's config file (``__config__``), ``__main__``: no module of the project.
        if early.is_config_module(name) or not rules.includes(name, origin):
            continue
        if not _exempt(name, module):
            found.append(name)
    if found:  # what the settings import while they load: values, not code to trace
        import os

        by_settings = early.imported_by_settings(found, os.environ.get(
            "DJANGO_SETTINGS_MODULE", ""))
        found = [name for name in found if name not in by_settings]
    return sorted(found)


def _warn_imported_before(names: list[str], settings: Any) -> None:
    found = early.classify(names, settings)
    if found.warned:
        # `manage.py check` loads LOGGING and the apps as this process did: it names the
        # import chain and the fix (W030).
        logger.warning(
            "tracekit: not auto-traced (imported before auto-tracing was installed): %s; "
            "`manage.py check` (django_tracekit.W030) says who imported them and the fix",
            ", ".join(found.warned))
    if found.entry_point:
        logger.warning(
            "tracekit: not auto-traced (imported before auto-tracing was installed): %s; "
            "this process's entry point imported them before Django loaded its apps "
            "(wsgi.py/asgi.py, a gunicorn or Celery config, a conftest): import project code "
            "there only after django.setup(), or add them to TRACEKIT['AUTOTRACE']['EXCLUDE']",
            ", ".join(found.entry_point))
    if found.celery_apps:
        logger.warning("tracekit: not auto-traced: the Celery app module %s. %s %s",
                       ", ".join(found.celery_apps), early.CELERY_APP_WHY,
                       early.CELERY_APP_HINT)


__all__ = ["counters", "install", "is_instrumented", "state", "uninstall"]


def is_instrumented(func: Any) -> bool:
    """Whether ``func`` (a function, method, or wrapper of one) runs auto-traced code."""
    func = getattr(func, "__func__", func)
    code = getattr(func, "__code__", None)
    return isinstance(code, types.CodeType) and "_tk_t" in code.co_varnames
