"""What the team's project is: its name, which code is its own, and the role of this process.

- :func:`default_project_name`: ``PROJECT_NAME``'s default, the same in the web and the worker
  processes of one project and in every checkout: the top package of the first
  ``INSTALLED_APPS`` entry whose module lives under ``BASE_DIR``, else the top package of
  ``ROOT_URLCONF``, else the folder name of ``BASE_DIR``. (A worker's settings often use
  another ``ROOT_URLCONF``: ``celerywyrm.urls`` beside ``bookwyrm.urls``; the first project
  app is ``bookwyrm`` in both.)
- :func:`in_project`: whether a module is the team's code (under ``BASE_DIR``, not in a
  ``site-packages``/``dist-packages`` folder, not the standard library, not tracekit): only
  that code gets the ``PROJECT_NAME`` prefix, so Django's and a library's code is named by
  its own module path (``django/contrib/admin/sites/AdminSite/login``) and never looks like
  one of the team's features. Decided once per top package (cached).
- :func:`declared`: ``PROJECT_NAME`` (its default applied) and ``AUTOTRACE['INCLUDE']`` as
  ``django_tracekit.conf`` validated them; conf plugs itself in (:func:`read_declared_from`)
  because it stands on the core, which therefore never imports it.
- :func:`celery_worker_process`: whether this process is a Celery worker
  (``celery -A proj worker``, ``python -m celery worker``, ``celery multi``'s children): its
  default service name is ``{PROJECT_NAME}-worker``, so web and worker are told apart.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

#: Packages that are never the team's code, wherever they are installed (tracekit's own
#: repository is the BASE_DIR of its tests and demo).
NEVER_PROJECT = frozenset({"django_tracekit", "django"})

_tops: dict[str, bool] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Declared:
    """What the validated settings say of the project: PROJECT_NAME (its default applied)
    and AUTOTRACE['INCLUDE']."""

    name: str
    include: tuple[str, ...] | None


#: Where :func:`declared` reads them: ``django_tracekit.conf`` plugs its cached config in
#: here when imported (the core must not import conf: conf stands on the core).
_declared_by: Callable[[], Declared] | None = None


def read_declared_from(source: Callable[[], Declared]) -> None:
    global _declared_by
    _declared_by = source


def declared() -> Declared | None:
    """The settings' word on the project; ``None`` before Django's settings are configured."""
    source = _declared_by
    if source is None:
        return None
    try:
        return source()
    except ImproperlyConfigured:  # Django settings not configured
        return None


def clear_cache() -> None:
    """Forget which top packages are the project's (BASE_DIR or INSTALLED_APPS changed)."""
    with _lock:
        _tops.clear()


def project_root() -> str | None:
    """Where the project's code lives: ``BASE_DIR``, else the folder holding the top package
    of ``ROOT_URLCONF`` (its checkout: pontoon names that folder ``ROOT``, not ``BASE_DIR``;
    without this fallback auto-tracing included nothing and no version was found), unless
    that package is installed in a ``site-packages`` folder. ``None`` when neither says."""
    try:
        base_dir = getattr(django_settings, "BASE_DIR", None)
        urlconf = getattr(django_settings, "ROOT_URLCONF", None)
    except Exception:  # settings not configured
        return None
    if base_dir:
        return str(base_dir)
    top = urlconf.partition(".")[0] if isinstance(urlconf, str) else ""
    for location in (_locations(top) or ()) if top else ():
        path = Path(location)
        # A package's __init__.py (or a namespace package's folder) sits one level deeper
        # than a top-level module's file.
        root = path.parent.parent if path.name == "__init__.py" else path.parent
        if _is_project_path(str(path), None):
            return str(root)
    return None


def _base_dir() -> str | None:
    root = project_root()
    if not root:
        return None
    return os.path.realpath(root) + os.sep


def _system_dirs() -> tuple[str, ...]:
    dirs = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            dirs.add(os.path.realpath(path) + os.sep)
    return tuple(sorted(dirs))


_SYSTEM_DIRS = _system_dirs()


def _locations(top: str) -> list[str] | None:
    """Where the top-level module or package ``top`` lives (files or folders), without
    importing it; ``None`` when it cannot be found."""
    module = sys.modules.get(top)
    paths: Iterable[str] = ()
    if module is not None:
        file = getattr(module, "__file__", None)
        paths = [file] if file else list(getattr(module, "__path__", None) or ())
    else:
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError, AttributeError):
            return None
        if spec is None:
            return None
        paths = ([spec.origin] if spec.origin and spec.has_location
                 else list(spec.submodule_search_locations or ()))
    found = [str(p) for p in paths if p]
    return found or None


locations = _locations  # for the PROJECT_NAME check (conf/project_check.py)


def _is_project_path(path: str, base_dir: str | None) -> bool:
    real = os.path.realpath(path)
    if real.startswith(_SYSTEM_DIRS):
        return False
    parts = Path(real).parts
    if "site-packages" in parts or "dist-packages" in parts:
        return False  # also a virtualenv inside BASE_DIR
    return base_dir is None or real.startswith(base_dir) or real + os.sep == base_dir


def lives_in_project(top: str, base_dir: str | None = None) -> bool | None:
    """Whether the top-level package ``top`` is the project's code; ``None``: not found."""
    if top in NEVER_PROJECT or top in sys.stdlib_module_names or top == "builtins":
        return False
    locations = _locations(top)
    if locations is None:
        return None
    if base_dir is None:
        base_dir = _base_dir()
    return any(_is_project_path(p, base_dir) for p in locations)


def _declared(top: str) -> bool:
    """Named by ``AUTOTRACE['INCLUDE']``: the team says it is its code, wherever it lives."""
    try:
        include = (declared() or Declared("", None)).include
    except Exception:  # settings unusable
        return False
    return bool(include) and any(p.split(".")[0] == top for p in include or ())


def outside(top: str) -> bool:
    """Whether the top package ``top`` is known to be code outside the project (cached).

    A module that cannot be found (a lint run over files that are not importable, a name
    made up by a caller) counts as the project's: the convention's prefix, as before."""
    known = _tops.get(top)
    if known is None:
        known = lives_in_project(top) is False and not _declared(top)
        with _lock:
            if len(_tops) < 10_000:
                _tops[top] = known
    return known


def in_project(module: str, project: str) -> bool:
    """Whether code of the dotted ``module`` is the team's (gets the ``project`` prefix)."""
    top = module.partition(".")[0]
    return not top or top == project or not outside(top)


def default_project_name() -> str:
    """``PROJECT_NAME``'s default (see the module docstring); ``""`` if nothing names it."""
    base_dir = _base_dir()
    if base_dir is not None:
        apps = getattr(django_settings, "INSTALLED_APPS", None) or ()
        for entry in apps:
            top = str(entry).partition(".")[0] if isinstance(entry, str) else ""
            if top and lives_in_project(top, base_dir):
                return top
    # The code's own top package names the project wherever it is checked out; the folder
    # name of BASE_DIR ("/srv/hc", "/app") does not.
    urlconf = getattr(django_settings, "ROOT_URLCONF", None)
    if isinstance(urlconf, str) and urlconf.split(".")[0]:
        return urlconf.split(".")[0]
    raw_base = getattr(django_settings, "BASE_DIR", None)
    if raw_base:
        return Path(str(raw_base)).name
    return ""


#: ``celery`` options that take a value (``-A proj``): skipped to find the sub-command.
_CELERY_OPTIONS_WITH_VALUE = frozenset({
    "-A", "--app", "-b", "--broker", "--result-backend", "--loader", "--config", "--workdir"})


def celery_worker_process(argv: Sequence[str] | None = None) -> bool:
    """Whether this process runs ``celery ... worker`` (its pool children included: they
    inherit the parent's settings)."""
    argv = sys.argv if argv is None else argv
    if not argv:
        return False
    program = Path(str(argv[0]))
    if not (program.name in ("celery", "celery.exe")
            or (program.name == "__main__.py" and program.parent.name == "celery")):
        return False
    skip = False
    for arg in argv[1:]:
        if skip:
            skip = False
        elif arg.startswith("-"):
            skip = arg in _CELERY_OPTIONS_WITH_VALUE
        else:
            return arg == "worker"  # the sub-command
    return False


__all__ = ["celery_worker_process", "clear_cache", "default_project_name", "in_project",
           "lives_in_project", "outside"]
