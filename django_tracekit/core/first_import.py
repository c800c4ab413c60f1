"""Running a callback right after a module's first import, for the integrations whose
library a process may never load: importing it up front would cost every process that does
not use it (memory, start-up, and a bigger heap for every full garbage collection)."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
import types
from collections.abc import Callable, Sequence


class OnFirstImport(importlib.abc.MetaPathFinder):
    """Runs a callback right after a module's first import (its own loader does the import);
    leaves ``sys.meta_path`` once nothing is pending."""

    def __init__(self, pending: dict[str, Callable[[], None]]) -> None:
        self.pending = pending
        self.asking = threading.local()  # the other finders may ask us again (auto-trace's)

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.pending or getattr(self.asking, "name", None) == fullname:
            return None
        self.asking.name = fullname
        try:
            spec = self._others(fullname, path, target)
        finally:
            self.asking.name = None
        if spec is None or not hasattr(spec.loader, "exec_module"):
            return spec
        assert spec.loader is not None
        # Consumed when the module is executed, not here: ``importlib.util.find_spec``
        # (an "is it installed?" test) asks the finders too, and imports nothing.
        spec.loader = _ThenCall(spec.loader, lambda: self._imported(fullname))
        return spec

    def _imported(self, fullname: str) -> None:
        then = self.pending.pop(fullname, None)
        if not self.pending and self in sys.meta_path:
            sys.meta_path.remove(self)
        if then is not None:
            then()

    def _others(self, fullname: str, path: Sequence[str] | None,
                target: types.ModuleType | None) -> importlib.machinery.ModuleSpec | None:
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None) if finder is not self else None
            spec: importlib.machinery.ModuleSpec | None = (
                find(fullname, path, target) if find is not None else None)
            if spec is not None:
                return spec
        return None


class _ThenCall(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader, then: Callable[[], None]) -> None:
        self.loader, self.then = loader, then

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        # The module keeps its own loader (resources, get_source, reloads).
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        self.then()


def after_first_import(module: str, then: Callable[[], None]) -> None:
    """``then()`` now if ``module`` is imported already, else right after its first import."""
    if module in sys.modules:
        then()
    else:
        sys.meta_path.insert(0, OnFirstImport({module: then}))
