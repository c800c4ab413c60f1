"""System checks of auto-tracing (asked by its registry entry, ``integration.py``).

W030: included modules imported before the hook (not auto-traced), one warning per cause,
      each with the fix for that cause.
W031: modules the hook could not instrument (imported normally).
W032 (asked by the integration, which then stays off): nothing to include: no INCLUDE,
      and neither BASE_DIR nor the folder of ROOT_URLCONF's package says where the
      project's code is.

Who imported a module early is not recorded by Python, so it is worked out afterwards from
what loads before ``django_tracekit``'s AppConfig, in Django's order: the settings module,
then LOGGING (``django.setup()`` configures logging before it loads the apps), then the
apps listed before ``django_tracekit``. A module is attributed to the first of them whose
source imports it at module level, directly or through other early modules; what none of
them imports was imported by the entry point (manage.py, wsgi.py, a conftest).
"""

from __future__ import annotations

import ast
import functools
import os
import sys
import sysconfig
import types
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.checks import CheckMessage
from django.core.checks import Warning as CheckWarning

from django_tracekit.sources.autotrace.early import (
    CELERY_APP_HINT,
    CELERY_APP_WHY,
    is_celery_app_module,
)

_EXCLUDE = "TRACEKIT['AUTOTRACE']['EXCLUDE']"


@dataclass(frozen=True)
class Cause:
    """Why some included modules were imported before the hook, and the fix."""

    why: str
    hint: str


NOTHING_INCLUDED = ("nothing to include: no TRACEKIT['AUTOTRACE']['INCLUDE'], no BASE_DIR, and "
                    "ROOT_URLCONF's package is not in a folder of the project (W032)")


def nothing_included() -> CheckMessage:
    return CheckWarning(
        "Auto-tracing includes nothing: the project's folder is unknown (no BASE_DIR setting, "
        "and ROOT_URLCONF's package is not in a folder of the project), so no function of the "
        "project is traced or counted and the unused-code page has nothing to list.",
        hint="Set BASE_DIR to the project's folder (as Django's startproject does), or list "
             "the project's packages in TRACEKIT['AUTOTRACE']['INCLUDE'].",
        id="django_tracekit.W032")


def check_autotrace(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from django_tracekit.sources.autotrace import state

    current = state()
    if current is None:
        return []
    messages: list[CheckMessage] = []
    for cause, modules in explain(current.imported_before).items():
        messages.append(CheckWarning(
            f"Not auto-traced, imported before auto-tracing was installed: "
            f"{', '.join(modules)}. {cause.why}",
            hint=cause.hint, id="django_tracekit.W030"))
    for module, reason in current.fallbacks:
        messages.append(CheckWarning(
            f"Auto-tracing could not instrument {module} ({reason}); it was imported "
            "without auto-tracing.",
            hint=f"Add {module!r} to {_EXCLUDE} to silence this.",
            id="django_tracekit.W031"))
    return messages


def explain(modules: Iterable[str]) -> dict[Cause, list[str]]:
    """Group modules imported before the hook by their cause (in the order things load)."""
    from django.conf import settings

    early = {name for name in modules if name in sys.modules}
    causes: dict[Cause, list[str]] = {}
    apps = sorted(n for n in early if isinstance(sys.modules.get(n), types.ModuleType)
                  and is_celery_app_module(sys.modules[n]))
    if apps:
        causes[Cause(CELERY_APP_WHY, CELERY_APP_HINT)] = apps
        early.difference_update(apps)
    if not early:  # nothing to explain: no reading of the settings' sources (start-up)
        return causes
    for cause, roots in _suspects(settings):
        via: dict[str, tuple[str, int]] = {}
        found = sorted(_reached(roots, early, via))
        if found:
            chain = _chain_text(found[0], via)
            if chain:  # the real lines, through every module in between (settings split
                # over several files, a package's __init__ importing its submodules)
                cause = Cause(f"{cause.why} Import chain of {found[0]}: {chain}.", cause.hint)
            causes.setdefault(cause, []).extend(found)
            early.difference_update(found)
    if early:
        causes[Cause(
            "They were imported before Django loaded its apps by code outside settings, "
            "LOGGING and INSTALLED_APPS (manage.py, wsgi.py/asgi.py, a gunicorn/Celery config, "
            "a pytest conftest or plugin, sitecustomize).",
            hint="Import project code in that entry point only after django.setup() "
                 "(get_wsgi_application() and `celery -A` call it), or add these modules to "
                 f"{_EXCLUDE}.")] = sorted(early)
    return causes


def _suspects(settings: Any) -> Iterator[tuple[Cause, list[str]]]:
    """What runs before the hook, in load order, with the modules each starts from."""
    settings_module = getattr(settings, "SETTINGS_MODULE", None)
    if settings_module:
        yield Cause(
            f"The settings module {settings_module!r} imports them (directly or through "
            "another module it imports): settings load before any app, so no app listed "
            "first can help.",
            hint="Move these imports out of settings (settings should hold values; import "
                 "project code where it is used, e.g. in a view or AppConfig.ready()), or add "
                 f"the modules to {_EXCLUDE}."), [settings_module]
    for path, module in _logging_paths(getattr(settings, "LOGGING", None)):
        yield Cause(
            f"LOGGING names {path!r}: django.setup() configures logging before it loads "
            "INSTALLED_APPS, so that module and what it imports at its top load first.",
            hint="Keep logging handlers, filters and formatters in a small module of their "
                 "own that imports project code inside its methods (lazily), not at its top, "
                 f"or add the modules to {_EXCLUDE}."), [module]
    before = _apps_before_tracekit()
    if before:
        yield Cause(
            f"The apps listed before 'django_tracekit' in INSTALLED_APPS import them: "
            f"{', '.join(before)}.",
            hint="List 'django_tracekit' first in INSTALLED_APPS."), before


def _logging_paths(config: Any) -> Iterator[tuple[str, str]]:
    """The dotted paths LOGGING resolves at setup ("class" and "()" values), with the module
    each lives in."""
    if isinstance(config, Mapping):
        for key, value in config.items():
            if key in ("class", "()") and isinstance(value, str):
                module = _module_of(value)
                if module:
                    yield value, module
            else:
                yield from _logging_paths(value)
    elif isinstance(config, (list, tuple)):
        for item in config:
            yield from _logging_paths(item)


def _module_of(path: str) -> str | None:
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        name = ".".join(parts[:end])
        if name in sys.modules:
            return name
    return None


def _apps_before_tracekit() -> list[str]:
    from django.apps import apps

    modules: list[str] = []
    for config in apps.get_app_configs():
        if config.name == "django_tracekit":
            return modules
        modules.extend(dict.fromkeys([config.name, type(config).__module__]))
    return []


def _reached(roots: Iterable[str], early: set[str],
             via: dict[str, tuple[str, int]] | None = None) -> set[str]:
    """The early modules that ``roots`` import at module level, directly or through other
    modules of the project (early ones, and those auto-tracing leaves alone: a settings
    module importing another, a package ``__init__`` that defines nothing).

    ``via`` gets, for each module reached, the module and line that imported it first (in
    breadth-first order: the shortest chain)."""
    via = {} if via is None else via
    seen: set[str] = set()
    pending = deque(roots)
    while pending:
        name = pending.popleft()
        if name in seen:
            continue
        seen.add(name)
        # Importing a.b.c runs a and a.b first.
        parent = name.rpartition(".")[0]
        if parent and _followed(parent, early) and parent not in seen:
            via.setdefault(parent, (name, 0))
            pending.append(parent)
        module = sys.modules.get(name)
        if isinstance(module, types.ModuleType):
            for ref, line in _imports(module).items():
                if ref not in seen and _followed(ref, early):
                    via.setdefault(ref, (name, line))
                    pending.append(ref)
    return seen & early


def _followed(name: str, early: set[str]) -> bool:
    """Is ``name`` a module the import chain is followed through?"""
    if name in early:
        return True
    module = sys.modules.get(name)
    if not isinstance(module, types.ModuleType):
        return False
    return _is_project_file(getattr(getattr(module, "__spec__", None), "origin", None))


@functools.lru_cache(maxsize=1)
def _library_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {os.path.realpath(paths[key]) for key in ("stdlib", "platstdlib", "purelib",
                                                    "platlib") if paths.get(key)}
    dirs.update(os.path.realpath(p) for p in sys.path if "site-packages" in p)
    return tuple(sorted(dirs))


def _is_project_file(origin: object) -> bool:
    """Source of the project (not the standard library, not an installed package)."""
    if not isinstance(origin, str) or not origin.endswith(".py"):
        return False
    real = os.path.realpath(origin)
    return not any(real.startswith(d + os.sep) for d in _library_dirs())


def _chain_text(target: str, via: Mapping[str, tuple[str, int]]) -> str:
    """``a.py line 3 imports b``, ... down to ``target``: the lines that imported it."""
    steps: list[str] = []
    name = target
    while name in via and len(steps) < 20:
        importer, line = via[name]
        where = _display_path(importer)
        steps.append(f"{where} line {line} imports {name}" if line
                     else f"importing {importer} runs {name} first")
        name = importer
    return "; ".join(reversed(steps))


def _display_path(name: str) -> str:
    module = sys.modules.get(name)
    origin = getattr(getattr(module, "__spec__", None), "origin", None)
    if not isinstance(origin, str):
        return name
    try:
        return os.path.relpath(origin)
    except ValueError:  # another drive (Windows)
        return origin


def _imports(module: types.ModuleType) -> dict[str, int]:
    """The modules ``module``'s source imports when it runs (not inside functions), with
    the line of the first import of each."""
    origin = getattr(getattr(module, "__spec__", None), "origin", None)
    try:
        tree = ast.parse(Path(str(origin)).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return {}
    package = (module.__package__ or "").split(".") if module.__package__ else []
    names: dict[str, int] = {}
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.name] = min(names.get(alias.name, node.lineno), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            parts = package[:len(package) - node.level + 1] if node.level else []
            base = ".".join([*parts, *([node.module] if node.module else [])])
            for name in (base, *(f"{base}.{alias.name}" for alias in node.names)):
                names[name] = min(names.get(name, node.lineno), node.lineno)
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            pending.extend(ast.iter_child_nodes(node))
    return names
