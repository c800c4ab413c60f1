"""Modules of the project imported before auto-tracing: which are worth a warning, and
whether `manage.py check` (W030) can say who imported them in this process.

- Not warned about: what the settings module imports while it loads (a django-environ
  layout's env helpers and the enums the settings read; ``checks._reached`` follows the
  settings' module-level imports through the project's files), and config modules that
  are no importable project module (gunicorn loads ``gunicorn.conf.py`` as ``__config__``).
- A Celery app module (``celery -A proj``: a module holding a ``Celery`` app) is imported by
  Celery before Django is set up, in the worker only: its own message, with its fix.
- Imported through LOGGING or an app listed before tracekit: `manage.py check` loads those
  the same way and names the import chain. Anything else was imported by this process's
  entry point, which `manage.py check` does not run.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_EXCLUDE = "TRACEKIT['AUTOTRACE']['EXCLUDE']"
CELERY_APP_WHY = (
    "Celery imports the app module named by `celery -A` before Django is set up (and before "
    "auto-tracing is installed), so functions defined there (signal receivers such as "
    "setup_logging or task_prerun handlers, tasks) run untraced.")
CELERY_APP_HINT = (
    "Keep the app module to the Celery() app and its config; move receivers and tasks into "
    "modules of your apps (tasks.py found by app.autodiscover_tasks(), receivers connected "
    f"in AppConfig.ready()), or add the module to {_EXCLUDE} to silence this.")


@dataclass
class Early:
    warned: list[str] = field(default_factory=list)  # by check W030, which can explain them
    celery_apps: list[str] = field(default_factory=list)
    entry_point: list[str] = field(default_factory=list)  # imported by this process's entry


def is_config_module(name: str) -> bool:
    """No importable module of the project: loaded from a file under a made-up name."""
    return name.startswith("__") and name.endswith("__")


def is_celery_app_module(module: types.ModuleType) -> bool:
    base = sys.modules.get("celery.app.base")
    celery = getattr(base, "Celery", None)
    return isinstance(celery, type) and any(
        isinstance(value, celery) for value in list(vars(module).values()))


def imported_by_settings(names: Iterable[str], settings_module: str) -> set[str]:
    """Those of ``names`` the settings module imports at module level (through project
    modules), i.e. imported while the settings were being imported."""
    if not settings_module or settings_module not in sys.modules:
        return set()
    from django_tracekit.sources.autotrace.checks import _reached

    return _reached([settings_module, *_split_settings_components()], set(names))


def _split_settings_components() -> list[str]:
    """The files django-split-settings' ``include()`` ran in the settings' namespace
    (DefectDojo's ``include("settings.dist.py")``): no import, so not followed from the
    settings module; the library registers each under ``_split_settings.`` for autoreload."""
    return [name for name in list(sys.modules) if name.startswith("_split_settings.")]


def classify(names: list[str], settings: Any) -> Early:
    """Split the modules imported before the hook (none exempt) by what can be said."""
    from django_tracekit.sources.autotrace.checks import _logging_paths, _reached

    early = Early()
    rest = []
    for name in names:
        module = sys.modules.get(name)
        if isinstance(module, types.ModuleType) and is_celery_app_module(module):
            early.celery_apps.append(name)
        else:
            rest.append(name)
    roots = [module for _, module in _logging_paths(getattr(settings, "LOGGING", None))]
    roots.extend(_apps_listed_before_tracekit(getattr(settings, "INSTALLED_APPS", ())))
    explained = _reached(roots, set(rest)) if roots and rest else set()
    early.warned = [n for n in rest if n in explained]
    early.entry_point = [n for n in rest if n not in explained]
    return early


def _apps_listed_before_tracekit(installed: Iterable[Any]) -> list[str]:
    """The modules of the apps listed before tracekit (by name: the registry is not ready
    while tracekit's module is imported)."""
    found: list[str] = []
    for entry in installed:
        name = str(entry)
        if name == "django_tracekit" or name.startswith("django_tracekit."):
            return found
        # An AppConfig path names its module; an app name is its package.
        found.extend(n for n in (name, name.rpartition(".")[0]) if n in sys.modules)
    return []


__all__ = ["CELERY_APP_HINT", "CELERY_APP_WHY", "Early", "classify", "imported_by_settings",
           "is_celery_app_module", "is_config_module"]
