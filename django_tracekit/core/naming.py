"""The naming convention: ``{PROJECT}/{module path}/{qualname}``, computed once per code object.

``shop.orders.services.Checkout.run`` in project ``shop`` -> ``shop/orders/services/Checkout/run``.
Code outside the project (Django, third-party apps, tracekit itself: ``project.in_project``)
is named by its own module path, without the prefix: ``django/contrib/admin/sites/AdminSite/login``;
so a name starts with ``{PROJECT_NAME}/`` exactly when it is the team's code.
``<locals>`` segments are dropped, ``<lambda>`` becomes ``lambda``. The same string names
spans, stats features and lint messages. Names are looked up by code object (one dict hit
on the hot path) and never derived from ``inspect.stack()``.
"""

from __future__ import annotations

import functools
import inspect
import sys
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.signals import setting_changed

from django_tracekit.core.project import clear_cache as _clear_project_cache
from django_tracekit.core.project import declared, in_project

# Semantic-convention attribute keys (code.* as of semconv 1.30).
CODE_FUNCTION_NAME = "code.function.name"
CODE_FILE_PATH = "code.file.path"
CODE_LINE_NUMBER = "code.line.number"

_HAS_CO_QUALNAME = sys.version_info >= (3, 11)


@dataclass(frozen=True)
class CodeLocation:
    """Where a span's code lives: its convention name and semconv ``code.*`` attributes."""

    name: str
    function: str  # fully qualified, dotted: "shop.orders.services.Checkout.run"
    file_path: str
    line_number: int

    @functools.cached_property
    def attributes(self) -> dict[str, str | int]:
        """Built once per location and shared by every span started there: read-only."""
        return {
            CODE_FUNCTION_NAME: self.function,
            CODE_FILE_PATH: self.file_path,
            CODE_LINE_NUMBER: self.line_number,
        }


_by_code: dict[types.CodeType, CodeLocation] = {}
_project: str | None = None


def clear_cache() -> None:
    """Forget computed names (PROJECT_NAME changed)."""
    global _project
    _by_code.clear()
    _module_indexes.clear()
    _clear_project_cache()
    _project = None


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    # What PROJECT_NAME and the project's modules derive from.
    if setting in ("TRACEKIT", "BASE_DIR", "ROOT_URLCONF", "INSTALLED_APPS"):
        clear_cache()


setting_changed.connect(_on_setting_changed, dispatch_uid="django_tracekit.core.naming")


def project_name() -> str:
    global _project
    if _project is None:
        settings = declared()
        if settings is None:  # Django settings not configured: no prefix.
            return ""
        _project = settings.name
    return _project


def convention_name(module: str, qualname: str, project: str | None = None) -> str:
    """Apply the convention to a dotted module path and a ``__qualname__``."""
    if project is None:
        project = project_name()
    segments = [s for s in module.split(".") if s]
    if project and (not segments or segments[0] != project) and in_project(module, project):
        segments.insert(0, project)
    for part in qualname.split("."):
        if part in ("<locals>", "<module>", ""):
            continue
        if part == "<lambda>":
            part = "lambda"
        elif part.startswith("<") and part.endswith(">"):  # <genexpr>, <listcomp>
            part = part[1:-1]
        segments.append(part)
    return "/".join(segments)


def is_project_name(name: str, project: str | None = None) -> bool:
    """Whether a convention name is the team's code (it carries the project prefix).
    Without a project name every name counts as the team's."""
    if project is None:
        project = project_name()
    return not project or name.startswith(project + "/")


def _real_module_name(module: str) -> str:
    if module == "__main__":
        main = sys.modules.get("__main__")
        spec = getattr(main, "__spec__", None)
        if spec is not None and spec.name:
            return str(spec.name).removesuffix(".__main__")
        path = getattr(main, "__file__", None)
        if path:
            return str(path).rsplit("/", 1)[-1].removesuffix(".py")
    return module


def location(module: str, qualname: str, file_path: str, line_number: int) -> CodeLocation:
    """The one factory of :class:`CodeLocation`: the convention name and semconv fields of
    ``qualname`` in ``module``."""
    return CodeLocation(
        name=convention_name(module, qualname),
        function=f"{module}.{qualname}" if module else qualname,
        file_path=file_path,
        line_number=line_number,
    )


def location_for_code(code: types.CodeType, module_globals: Mapping[str, Any]) -> CodeLocation:
    """The :class:`CodeLocation` of a code object (cached: one dict lookup after the first)."""
    cached = _by_code.get(code)
    if cached is None:
        module = _real_module_name(str(module_globals.get("__name__") or ""))
        if _HAS_CO_QUALNAME:
            qualname = code.co_qualname  # type: ignore[attr-defined,unused-ignore]
        else:
            qualname = _qualname_from_module(code, module_globals)
        cached = location(module, qualname, code.co_filename, code.co_firstlineno)
        _by_code[code] = cached
    return cached


def caller_location(depth: int = 1) -> CodeLocation:
    """The location of the function ``depth`` frames above the caller of this function."""
    frame = sys._getframe(depth + 1)
    return location_for_code(frame.f_code, frame.f_globals)


def _unwrap_callable(obj: Any) -> Any:
    while True:
        if isinstance(obj, (staticmethod, classmethod, types.MethodType)):
            obj = obj.__func__
        elif isinstance(obj, functools.partial):
            obj = obj.func
        elif isinstance(obj, property) and obj.fget is not None:
            obj = obj.fget
        elif isinstance(obj, functools.cached_property):
            obj = obj.func
        else:
            return obj


def location_for(obj: Any) -> CodeLocation:
    """The :class:`CodeLocation` of a function, method, class or other callable."""
    obj = _unwrap_callable(obj)
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not isinstance(qualname, str):
        # Instances of callable classes: named after their class's __call__.
        cls = type(obj)
        if callable(obj) and hasattr(cls, "__call__"):  # noqa: B004
            return location_for(cls.__call__)
        raise TypeError(f"cannot name {obj!r}: it has no __qualname__")
    module = _real_module_name(module or "")
    try:  # functools.wraps copies the name, but the code of interest is the wrapped one
        code = getattr(inspect.unwrap(obj), "__code__", None)
    except ValueError:  # a __wrapped__ cycle
        code = getattr(obj, "__code__", None)
    file_path, line = "", 0
    if isinstance(code, types.CodeType):
        file_path, line = code.co_filename, code.co_firstlineno
    elif isinstance(obj, type):
        mod = sys.modules.get(module)
        file_path = str(getattr(mod, "__file__", "") or "")
    return location(module, qualname, file_path, line)


def name_for(obj: Any) -> str:
    """The convention name of a function, method, class or callable.

    >>> name_for(Checkout.run)   # doctest: +SKIP
    'shop/orders/services/Checkout/run'
    """
    return location_for(obj).name


# --- Python 3.10: no co_qualname, so index the module's code objects once ---------------

_module_indexes: dict[str, dict[types.CodeType, str]] = {}
_CO_OPTIMIZED = 0x0001  # set on function bodies, not on class or module bodies


def _qualname_from_module(code: types.CodeType, module_globals: Mapping[str, Any]) -> str:
    module = str(module_globals.get("__name__") or "")
    index = _module_indexes.get(module)
    if index is None or code not in index:
        index = _index_module(module, module_globals)
        _module_indexes[module] = index
    return index.get(code, code.co_name)


def _index_module(module: str, module_globals: Mapping[str, Any]) -> dict[types.CodeType, str]:
    index: dict[types.CodeType, str] = {}
    seen: set[int] = set()

    def add_code(code: types.CodeType, qualname: str) -> None:
        if code in index:
            return
        index[code] = qualname
        nested_prefix = qualname + (".<locals>." if code.co_flags & _CO_OPTIMIZED else ".")
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                add_code(const, nested_prefix + const.co_name)

    def visit(obj: Any) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        obj = _unwrap_callable(obj)
        while True:
            code = getattr(obj, "__code__", None)
            if isinstance(code, types.CodeType) and getattr(obj, "__module__", None) == module:
                add_code(code, obj.__qualname__)
            wrapped = getattr(obj, "__wrapped__", None)
            if wrapped is None or wrapped is obj:
                break
            obj = wrapped
        if isinstance(obj, type) and obj.__module__ == module:
            for attr in vars(obj).values():
                if isinstance(attr, property):  # each accessor has its own code
                    for accessor in (attr.fget, attr.fset, attr.fdel):
                        if accessor is not None:
                            visit(accessor)
                else:
                    visit(attr)

    for value in list(module_globals.values()):
        visit(value)
    return index


__all__ = [
    "CODE_FILE_PATH",
    "CODE_FUNCTION_NAME",
    "CODE_LINE_NUMBER",
    "CodeLocation",
    "caller_location",
    "convention_name",
    "is_project_name",
    "location_for",
    "location_for_code",
    "name_for",
]
