"""The import hook: a ``sys.meta_path`` finder that gives included modules a rewriting loader.

- Included: a module named by ``INCLUDE`` (itself or inside it; globs allowed), or, when
  ``INCLUDE`` is None, any module whose source file lies under ``settings.BASE_DIR`` and not
  in a ``site-packages``/``dist-packages`` directory or the standard library.
- Excluded: a module matching an ``EXCLUDE`` glob is imported normally.
- The rewritten code is cached under its own name beside the normal ``.pyc``, or in the user's
  cache directory where that cannot be written (``bytecode_cache.py``):
  a normal import of the same file (tracing off) never loads instrumented bytecode, and a
  process whose cache is fresh does not parse or compile the module again.
- While a rewritten module's body runs, its calls (decorator factories, registrations) are
  start-up, not usage: not counted, no spans (``chain.IMPORTING``).
- Anything the rewriter or the compiler rejects (e.g. a function nested 19 blocks deep:
  the two added blocks exceed CPython's limit of 20) falls back to the normal import and a
  warning naming the module: never a failed import because of tracekit.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import os
import sys
import sysconfig
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django_tracekit.core import chain
from django_tracekit.sources.autotrace import bytecode_cache as cache
from django_tracekit.sources.autotrace import rewrite, runtime

logger = logging.getLogger("django_tracekit")

MARKER = "__tracekit_autotraced__"


def _stdlib_dirs() -> tuple[str, ...]:
    dirs = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            dirs.add(os.path.realpath(path) + os.sep)
    return tuple(sorted(dirs))


# Never auto-traced, whatever INCLUDE says: test suites, migrations, entry points. Matched
# against module names only (the user's EXCLUDE also matches ``module.qualname``).
DEFAULT_EXCLUDE = ("tests", "*.tests", "test_*", "*.test_*", "*_tests", "*.*_tests",
                   "conftest", "*.conftest", "migrations", "*.migrations", "manage")


class Rules:
    """Which modules are included (by name, or by file under BASE_DIR)."""

    def __init__(self, include: Sequence[str] | None, exclude: Sequence[str],
                 base_dir: str | None) -> None:
        self.include = tuple(include) if include is not None else None
        self.exclude = tuple(exclude)
        self.base_dir = (os.path.realpath(base_dir) + os.sep) if base_dir else None
        self.tops = ({p.split(".")[0] for p in self.include}
                     if self.include is not None and not any("*" in p.split(".")[0]
                                                             for p in self.include) else None)
        self._system = _stdlib_dirs()

    def may_include(self, fullname: str) -> bool:
        """Cheap, name-only pre-filter."""
        top = fullname.partition(".")[0]
        if top in sys.stdlib_module_names or top in ("django_tracekit", "django"):
            return False
        if self.tops is not None and top not in self.tops:
            return False
        return not (rewrite.glob_matches(fullname, DEFAULT_EXCLUDE)
                    or rewrite.glob_matches(fullname, self.exclude))

    def includes(self, fullname: str, origin: str | None) -> bool:
        if not self.may_include(fullname) or not origin or not origin.endswith(".py"):
            return False
        if self.include is not None:
            return rewrite.glob_matches(fullname, self.include)
        if self.base_dir is None:
            return False
        path = os.path.realpath(origin)
        if not path.startswith(self.base_dir) or path.startswith(self._system):
            return False
        parts = Path(path).parts
        return "site-packages" not in parts and "dist-packages" not in parts


class Finder(importlib.abc.MetaPathFinder):
    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.fallbacks: list[tuple[str, str]] = []  # (module, reason)
        self.cached: list[str] = []  # modules whose rewritten code came from the cache

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if not self.rules.may_include(fullname):
            return None
        spec: importlib.machinery.ModuleSpec | None = None
        for finder in sys.meta_path:
            if finder is self or isinstance(finder, Finder):
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                break
        if spec is None or type(spec.loader) is not importlib.machinery.SourceFileLoader:
            return spec
        if not self.rules.includes(fullname, spec.origin):
            return spec
        assert spec.origin is not None
        spec.loader = Loader(fullname, spec.origin, self)
        return spec


class Loader(importlib.machinery.SourceFileLoader):
    def __init__(self, fullname: str, path: str, finder: Finder) -> None:
        super().__init__(fullname, path)
        self.finder = finder

    def exec_module(self, module: types.ModuleType) -> None:
        name = module.__name__
        try:
            code, result = self._rewritten(name)
        except Exception as exc:  # SyntaxError from our additions, RecursionError, ...
            reason = f"{type(exc).__name__}: {exc}"
            self.finder.fallbacks.append((name, reason))
            logger.warning("tracekit: auto-tracing could not instrument %s (%s); imported "
                           "without auto-tracing", name, reason)
            super().exec_module(module)
            return
        runtime.hook_context()  # idempotent: pending frames need it from now on
        module.__dict__.update(rewrite.module_globals(result))
        module.__dict__[MARKER] = True
        token = chain.set_top(chain.IMPORTING)
        try:
            exec(code, module.__dict__)  # the module's own (rewritten) code
        finally:
            try:
                chain.reset_top(token)
            except (ValueError, RuntimeError):
                chain.set_top(token.old_value if token.old_value is not token.MISSING
                              else None)
        _apply_runtime_opt_outs(module, result)

    def _rewritten(self, name: str) -> tuple[types.CodeType, rewrite.Result]:
        source = self.get_data(self.path)
        exclude = self.finder.rules.exclude
        location = cache.locate(source, name, self.path, exclude)
        hit = location.load() if location else None
        if hit is not None:
            code, result = hit
            rewrite.register(result, name, self.path)
            self.finder.cached.append(name)
            return code, result
        code, result = rewrite.compile_module(source, name, self.path, exclude)
        if location:
            location.store(code, result)
        return code, result


def _apply_runtime_opt_outs(module: types.ModuleType, result: rewrite.Result) -> None:
    """``no_autotrace`` applied in a way the rewriter could not see (``f = no_autotrace(g)``,
    an alias of the decorator): give those functions their original, uninstrumented code."""
    from django_tracekit.core.vocabulary import is_no_autotrace

    marked: list[Any] = []
    for value in list(vars(module).values()):
        # type(), not isinstance(): isinstance reads a lazy proxy's __class__, which would
        # evaluate it (Celery's @shared_task: the task made, its modules imported, at import).
        kind = type(value)
        if issubclass(kind, type) and value.__module__ == module.__name__:
            if is_no_autotrace(value):
                marked.extend(_functions_of(value))
            else:
                marked.extend(f for f in _functions_of(value) if is_no_autotrace(f))
        elif kind is types.FunctionType and is_no_autotrace(value):
            marked.append(value)
    marked = [f for f in marked if isinstance(f, types.FunctionType)
              and f.__module__ == module.__name__ and "_tk_t" in f.__code__.co_varnames]
    if not marked:
        return
    original = compile(Path(str(module.__file__)).read_bytes(), str(module.__file__), "exec",
                       dont_inherit=True)
    by_name = {(c.co_name, c.co_firstlineno): c for c in _codes(original)}
    for func in marked:
        code = func.__code__
        plain = by_name.get((code.co_name, code.co_firstlineno))
        if plain is not None and plain.co_freevars == code.co_freevars:
            func.__code__ = plain


def _functions_of(cls: type) -> list[Any]:
    found: list[Any] = []
    for value in vars(cls).values():
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if isinstance(value, property):
            found.extend(f for f in (value.fget, value.fset, value.fdel) if f is not None)
        elif isinstance(value, types.FunctionType):
            found.append(value)
    return found


def _codes(code: types.CodeType) -> list[types.CodeType]:
    found = [code]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found.extend(_codes(const))
    return found

