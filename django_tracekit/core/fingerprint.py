"""Error groups: which errors are "the same error", as Sentry groups issues.

A group is the exception type (qualified name) and the in-app raise location: the innermost
frame of the exception's traceback that is the team's own code (not the standard library,
not an installed package, not Django or tracekit), named by the naming convention
(``shop/orders/services/Checkout/run``). The message is not part of it (``order 4 not found``
and ``order 7 not found`` are one group), nor the line number (a release that moves the
raise a few lines down keeps its groups). When no frame is the team's, the innermost frame
is the location; an exception recorded without being raised, the recording site.

Computed from the live frames when an error is recorded (module names and code objects:
no source lines, no file reads), once per exception (kept on it) and once per code object.
The fingerprint is 16 hex digits of a hash of type and location: the same in every process
and database, stable across releases.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import sysconfig
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.signals import setting_changed

from django_tracekit.core.naming import location_for_code, project_name

#: The exception event attribute holding the fingerprint (the trace list's ``?group=``).
GROUP_ATTRIBUTE = "tracekit.error.group"
_ATTR = "__tracekit_group__"
_MAX_CACHE = 10_000
_NOT_TEAM = ("django_tracekit", "django")


@dataclass(frozen=True)
class Group:
    fingerprint: str  # 16 lowercase hex
    type: str  # qualified exception type name
    location: str  # convention name of the in-app function ("" if unknown)
    file_path: str
    line: int


def fingerprint_of(error_type: str, location: str) -> str:
    return hashlib.blake2b(f"{error_type}\n{location}".encode(), digest_size=8).hexdigest()


_in_app: dict[types.CodeType, bool] = {}
_system_dirs: tuple[str, ...] | None = None
_base_dir: str | None = None


def clear_cache() -> None:
    global _system_dirs, _base_dir
    _in_app.clear()
    _system_dirs = _base_dir = None


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("TRACEKIT", "BASE_DIR", "ROOT_URLCONF"):  # what "the team's code" is
        clear_cache()


setting_changed.connect(_on_setting_changed, dispatch_uid="django_tracekit.core.fingerprint")


def _dirs() -> tuple[tuple[str, ...], str]:
    global _system_dirs, _base_dir
    if _system_dirs is None:
        paths = sysconfig.get_paths()
        _system_dirs = tuple(sorted({os.path.realpath(p) + os.sep for k in
                                     ("stdlib", "platstdlib", "purelib", "platlib")
                                     if (p := paths.get(k))}))
        base = ""
        with contextlib.suppress(Exception):  # settings not configured: no base dir
            from django_tracekit.core.project import project_root

            base = project_root() or ""
        _base_dir = (os.path.realpath(base) + os.sep) if base else ""
    return _system_dirs, _base_dir or ""


def is_team_code(code: types.CodeType, module: str) -> bool:
    """Whether a frame's code is the team's own: its module is in the project's top package,
    or its file lies under ``BASE_DIR`` outside any installed-packages or standard-library
    directory; never Django's or tracekit's (cached per code object)."""
    known = _in_app.get(code)
    if known is not None:
        return known
    top = module.partition(".")[0]
    if top in _NOT_TEAM or top in sys.stdlib_module_names:
        result = False
    elif top and top == project_name():
        result = True
    else:
        system, base = _dirs()
        path = os.path.realpath(code.co_filename) if code.co_filename else ""
        parts = Path(path).parts
        result = bool(base and path.startswith(base) and not path.startswith(system)
                      and "site-packages" not in parts and "dist-packages" not in parts)
    if len(_in_app) >= _MAX_CACHE:
        _in_app.clear()
    _in_app[code] = result
    return result


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module in ("builtins", "__main__") else \
        f"{module}.{cls.__qualname__}"


def group_of(exc: BaseException, site: types.FrameType | None = None) -> Group:
    """The group of ``exc`` (computed once, then kept on the exception). ``site``: where it
    is being recorded (the location of an exception that was never raised)."""
    cached = getattr(exc, _ATTR, None)
    if isinstance(cached, Group):
        return cached
    chosen: tuple[types.FrameType, int] | None = None
    innermost: tuple[types.FrameType, int] | None = None
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        innermost = (frame, tb.tb_lineno)
        if is_team_code(frame.f_code, str(frame.f_globals.get("__name__") or "")):
            chosen = innermost
        tb = tb.tb_next
    if chosen is None:
        # Recorded where a library call failed (a query's span, an HTTP client's): the
        # team's code is among the callers of the recording point, still on the stack.
        caller: types.FrameType | None = sys._getframe(1)
        while caller is not None and chosen is None:
            if is_team_code(caller.f_code, str(caller.f_globals.get("__name__") or "")):
                chosen = (caller, caller.f_lineno)
            caller = caller.f_back
    if chosen is None:
        chosen = innermost or ((site, site.f_lineno) if site is not None else None)
    error_type = _type_name(exc)
    if chosen is None:
        location, path, line = "", "", 0
    else:
        frame, line = chosen
        found = location_for_code(frame.f_code, frame.f_globals)
        location, path = found.name, found.file_path
    group = Group(fingerprint_of(error_type, location), error_type, location, path, line or 0)
    with contextlib.suppress(AttributeError, TypeError):  # __slots__: computed again
        setattr(exc, _ATTR, group)
    return group


def message_without_type(description: str, error_type: str) -> str:
    """The message of a span status description ``"Type: message"`` (what a span that only
    carries an error passing through it says): shown after its type, it would otherwise
    read ``Type: Type: message``."""
    if description == error_type:
        return ""
    return description.removeprefix(f"{error_type}: ")


__all__ = ["GROUP_ATTRIBUTE", "Group", "fingerprint_of", "group_of", "is_team_code",
           "message_without_type"]
